%% SPDX-License-Identifier: GPL-2.0-or-later
%%%----------------------------------------------------------------------
%%% mod_rest_account_policy: the policies that bind an authenticated account, in the VM.
%%%
%%% The worker applies the policy of the vhost the Host header chose; the Host header is the
%%% caller's to pick, so an account is also held to its own vhost's (security issue 2, item
%%% 11): api_access of both, and, when its vhost is another, that vhost's api_allowed_ips,
%%% allowed_stanza_types and allowed_destinations too (both must allow). An account of a vhost
%%% where mod_rest does not run cannot use the API. And what ejabberd's c2s listeners refuse
%%% (their `access` rule, e.g. Debian's `c2s: deny: blocked`) the API refuses too (item 7).
%%% Each check throws {refused, Status, Code}, Code an entry of the worker's catalogue.
%%%----------------------------------------------------------------------
-module(mod_rest_account_policy).

-export([check_account/4, check_stanza/3, c2s_access_rules/0, destination_allowed/2]).

%% The account may use the API from IP: api_access of the Host header's vhost and its own,
%% its own vhost's api_allowed_ips (the Host's were applied by the worker), and the c2s rule.
-spec check_account(jid:jid(), binary(), gen_mod:opts(), inet:ip_address()) -> ok.
check_account(Account, Host, Opts, IP) ->
    Vhosts = vhosts(Account, Host, Opts),
    lists:all(fun({VHost, O}) -> acl:match_rule(VHost, mod_rest_opt:api_access(O), Account) == allow end,
              Vhosts)
        orelse throw({refused, 403, <<"API_ACCESS_DENIED">>}),
    lists:all(fun({_, O}) -> mod_rest_ops:ip_allowed(IP, mod_rest_opt:api_allowed_ips(O)) end,
              own(Vhosts, Host))
        orelse throw({refused, 403, <<"IP_NOT_ALLOWED">>}),
    c2s_allows(Account, IP) orelse throw({refused, 403, <<"C2S_ACCESS_DENIED">>}),
    ok.

%% The stanza (decoded, before its sender is bound) is one the account's own vhost lets it
%% send, when that is not the Host header's (whose policy the worker applied): the same
%% refusal as the worker's, 406.
-spec check_stanza(xmpp:stanza(), jid:jid(), binary()) -> ok.
check_stanza(Pkt, Account, Host) ->
    case own(vhosts(Account, Host, []), Host) of
        [] -> ok;
        [{_, Opts}] ->
            (type_allowed(element(1, Pkt), mod_rest_opt:allowed_stanza_types(Opts))
             andalso destination_allowed(xmpp:get_to(Pkt), mod_rest_opt:allowed_destinations(Opts)))
                orelse throw({refused, 406, <<"REJECTED">>}),
            ok
    end.

%% The vhosts involved, with their options: the Host header's, and the account's own.
vhosts(Account, Host, HostOpts) ->
    {_, LServer, _} = jid:tolower(Account),
    case LServer == Host of
        true -> [{Host, HostOpts}];
        false ->
            case gen_mod:is_loaded(LServer, mod_rest) of
                true -> [{Host, HostOpts}, {LServer, gen_mod:get_module_opts(LServer, mod_rest)}];
                false -> throw({refused, 403, <<"API_ACCESS_DENIED">>})
            end
    end.

own(Vhosts, Host) ->
    [V || {VHost, _} = V <- Vhosts, VHost /= Host].

type_allowed(_Type, all) -> true;
type_allowed(Type, Types) -> lists:member(Type, Types).

%% As the worker's allowed_destinations: compared normalised; a bare JID admits its
%% resources; a stanza without `to` is refused when destinations are restricted.
-spec destination_allowed(jid:jid() | undefined, all | [jid:jid()]) -> boolean().
destination_allowed(_To, all) -> true;
destination_allowed(undefined, _Allowed) -> false;
destination_allowed(To, Allowed) ->
    {U, S, _} = LTo = jid:tolower(To),
    lists:any(fun(J) ->
                      case jid:tolower(J) of
                          {AU, AS, <<>>} -> {AU, AS} == {U, S};
                          Full -> Full == LTo
                      end
              end, Allowed).

%% As ejabberd_c2s binds a resource: the `access` rule of every c2s listener must allow the
%% account from this address.
c2s_allows(Account, IP) ->
    {_, LServer, _} = LJID = jid:tolower(Account),
    lists:all(fun(Rule) -> acl:match_rule(LServer, Rule, #{usr => LJID, ip => IP}) == allow end,
              c2s_access_rules()).

%% The `access` option of ejabberd's c2s listeners (`all` where none is set).
-spec c2s_access_rules() -> [atom() | list()].
c2s_access_rules() ->
    lists:usort([listener_access(Opts) || {_, ejabberd_c2s, Opts} <- ejabberd_option:listen()]).

listener_access(Opts) when is_map(Opts) -> maps:get(access, Opts, all);
listener_access(Opts) when is_list(Opts) -> proplists:get_value(access, Opts, all).
