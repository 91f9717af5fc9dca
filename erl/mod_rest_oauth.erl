%% SPDX-License-Identifier: GPL-2.0-or-later
%%%----------------------------------------------------------------------
%%% mod_rest_oauth: Bearer tokens of ejabberd's own OAuth (ejabberd_oauth) for the
%%% authenticated API.
%%%
%%% A token opens the API only when ejabberd_oauth knows it, it has not expired and its
%%% scopes include ?SCOPE. A dedicated scope, so that a token issued for mod_rest opens
%%% nothing else (mod_http_api grants commands to the scopes api_permissions names, e.g.
%%% ejabberd:admin; sasl_auth logs in over XMPP), and one issued for ejabberd's scopes or
%%% commands opens nothing here. ejabberd_oauth only
%%% issues the scopes ejabberd:user, ejabberd:admin, sasl_auth and the names of registered
%%% commands (verify_resowner_scope/3, the same from 23.01 to 26.07), so mod_rest registers
%%% a command of that name: restricted (ejabberdctl only) and doing nothing but print what
%%% it is for.
%%%
%%% Then as for Basic and --auth: failures count towards max_auth_failures per client IP
%%% (429 past it, before any token is looked up), and no account of a vhost with anonymous
%%% login is accepted (ejabberd's password grant issues tokens there for any password). The
%%% account must still exist: ejabberd keeps a deleted account's tokens. Tokens are never
%%% logged.
%%%----------------------------------------------------------------------
-module(mod_rest_oauth).

-export([authenticate/2, register_scope/0, unregister_scope/0, scope_info/0]).

-include("logger.hrl").
-include("ejabberd_commands.hrl").

-define(SCOPE, <<"mod_rest">>).
%% The command whose name is the scope (an atom of our own, never from a request).
-define(SCOPE_COMMAND, mod_rest).

%% The account a Bearer token stands for; throws {refused, 401 | 429, Body}.
%% Client: the client's IP and the most failed attempts a minute it may make.
-spec authenticate(binary(), {inet:ip_address(), pos_integer()}) -> jid:jid().
authenticate(Token, {IP, MaxFailures}) ->
    Attempt = mod_rest_command:begin_attempt(IP, MaxFailures),
    case check(Token) of
        {ok, JID} ->
            mod_rest_rate:auth_done(Attempt, ok),
            JID;
        {refused, Why} ->
            mod_rest_rate:auth_done(Attempt, failed),
            ?INFO_MSG("mod_rest: Bearer token refused (~ts) from ~ts", [Why, inet:ntoa(IP)]),
            %% The words of a wrong password: the client cannot tell why.
            throw({refused, 401, <<"Error: invalid credentials.">>})
    end.

check(Token) when is_binary(Token) ->
    try ejabberd_oauth:check_token([?SCOPE], Token) of
        {ok, user, {LUser, LServer}} -> account(LUser, LServer);
        {false, no_matching_scope} -> {refused, <<"not issued for the scope mod_rest">>};
        {false, expired} -> {refused, <<"expired">>};
        {false, _} -> {refused, <<"unknown">>}
    catch Class:Reason ->
            %% Not the reason itself: it may hold the token.
            ?WARNING_MSG("mod_rest: ejabberd_oauth failed to check a Bearer token (~ts:~ts)",
                         [Class, kind(Reason)]),
            {refused, <<"ejabberd_oauth failed">>}
    end;
check(_Token) ->
    {refused, <<"not text">>}.

account(LUser, LServer) ->
    JID = jid:make(LUser, LServer),
    Served = JID /= error andalso lists:member(LServer, ejabberd_option:hosts()),
    case Served andalso not mod_rest_command:anonymous_login(LServer)
        andalso ejabberd_auth:user_exists(LUser, LServer) of
        true -> {ok, JID};
        false -> {refused, <<"its account is not a registered account of a served vhost without anonymous login">>}
    end.

kind(Reason) when is_tuple(Reason), tuple_size(Reason) > 0, is_atom(element(1, Reason)) ->
    element(1, Reason);
kind(Reason) when is_atom(Reason) -> Reason;
kind(_) -> other.

%% Makes ?SCOPE a scope ejabberd_oauth issues; once per node (from 24.06 ejabberd logs a
%% second registration of a name as an error).
-spec register_scope() -> ok.
register_scope() ->
    case lists:keymember(?SCOPE_COMMAND, 1, ejabberd_commands:list_commands()) of
        true -> ok;
        %% Defined by the gen_mod, as mod_rest_ops:register_commands/0 says why.
        false -> ejabberd_commands:register_commands(mod_rest, [scope_command()])
    end.

-spec unregister_scope() -> ok.
unregister_scope() ->
    _ = ejabberd_commands:unregister_commands([scope_command()]),
    ok.

scope_command() ->
    #ejabberd_commands{
       name = ?SCOPE_COMMAND, tags = [oauth],
       desc = "The OAuth scope of mod_rest's authenticated API (does nothing)",
       longdesc = "Tokens for mod_rest's Authorization: Bearer are issued with this scope, "
                  "e.g. oauth_issue_token alice@example.org 3600 mod_rest. The command "
                  "exists only because ejabberd issues no scope but command names and its "
                  "own; running it changes nothing.",
       module = ?MODULE, function = scope_info, args = [], policy = restricted,
       result = {info, string}}.

%% What the scope's command prints.
-spec scope_info() -> string().
scope_info() ->
    "mod_rest: issue tokens for mod_rest's authenticated API with the scope mod_rest".
