%% SPDX-License-Identifier: GPL-2.0-or-later
%%%----------------------------------------------------------------------
%%% mod_rest_user_command: the arguments of a `user`-policy command (get_roster, get_vcard,
%%% set_nickname...) run with credentials, the same on every ejabberd version.
%%%
%%% ejabberd's own frontends disagree: with --auth, ejabberdctl 23.01 and 24.12 drop `user`
%%% and `host` from the format (the command is bound to the caller, and then crashes, since
%%% the caller is never passed), 26.07 keeps them and lets only an admin of that host name
%%% them; mod_http_api always takes them and leaves the check to api_permissions. So mod_rest
%%% decides itself, then runs the command as ejabberdctl runs it without --auth, with an
%%% explicit user and host (the output is ejabberdctl's, byte for byte):
%%%   - with the command's arguments after user and host (`get_roster`), it acts on the
%%%     caller's own account, whoever the caller is;
%%%   - with user and host given (`get_roster alice localhost`, as ejabberdctl takes them), it
%%%     acts on that account if it is the caller's own, or if ejabberd's `configure` rule
%%%     allows the caller on that account's vhost (an admin of it).
%%% access_commands has been checked for the request's vhosts before, and is checked for the
%%% named vhost after (mod_rest_command:run/5).
%%%----------------------------------------------------------------------
-module(mod_rest_user_command).

-export([bind/4]).

-include("logger.hrl").

%% Returns the command's full format (user and host first), the arguments to run it with,
%% and the credentials to pass to process2 (none: the caller has been checked already).
-spec bind(binary(), atom(), [binary()], jid:jid()) ->
          {[{atom(), term()}], [binary()], none}.
bind(Name, Command, Args, Caller) ->
    {Full, _, _} = ejabberd_commands:get_command_format(Command, noauth,
                                                        mod_rest_command:api_version()),
    Own = length(Full) - 2,
    case length(Args) of
        Own ->
            {User, Server, _} = jid:tolower(Caller),
            {Full, [User, Server | Args], none};
        N when N == Own + 2 ->
            [User, Host | _] = Args,
            may_act_on(Name, Caller, User, Host),
            {Full, Args, none};
        N ->
            Wanted = case N > Own of true -> Own + 2; false -> Own end,
            throw({refused, 400, mod_rest_command:arity_error(Name, Wanted, N)})
    end.

%% The caller's own account, or any account of a vhost the caller administers.
may_act_on(Name, Caller, User, Host) ->
    {CUser, CServer, _} = jid:tolower(Caller),
    Target = {jid:nodeprep(User), jid:nameprep(Host)},
    case Target == {CUser, CServer} orelse is_admin_of(Host, Caller) of
        true -> ok;
        false ->
            ?INFO_MSG("mod_rest: ~ts may not run '~ts' for another account (not an admin of ~ts)",
                      [mod_rest_command:quoted(jid:encode(Caller)), mod_rest_command:quoted(Name),
                       mod_rest_command:quoted(Host)]),
            throw({refused, 403,
                   [<<"Error: ">>, jid:encode(Caller), <<" may run '">>, mod_rest_command:quoted(Name),
                    <<"' for its own account only: ejabberd's configure rule does not make it an "
                      "admin of '">>, mod_rest_command:quoted(Host), <<"'.">>]})
    end.

is_admin_of(Host, Caller) ->
    case jid:nameprep(Host) of
        error -> false;
        VHost ->
            lists:member(VHost, ejabberd_option:hosts()) andalso
                acl:match_rule(VHost, configure, Caller) == allow
    end.
