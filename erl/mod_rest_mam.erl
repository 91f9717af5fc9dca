%% SPDX-License-Identifier: GPL-2.0-or-later
%%%----------------------------------------------------------------------
%%% mod_rest_mam: GET /rest/archive/{to}, an XEP-0313 query whose results are collected for
%%% one HTTP request.
%%%
%%% mod_mam answers a query with one <message><result xmlns='urn:xmpp:mam:2'/></message> per
%%% archived message, routed to the query's sender, and then the iq result. So the query is
%%% sent from the account's full JID with a resource of our own (?RESOURCE_PREFIX and 128
%%% random bits), and a filter_packet hook, node-wide, takes every message routed to a
%%% resource in this table away from the router and hands it to the waiting HTTP process:
%%% no session is opened (none is kicked out by max_user_sessions, no presence, no
%%% connected_users entry) and nothing reaches the account's clients or offline storage.
%%% The iq reply comes back through ejabberd_router:route_iq/4, as for any API iq, after the
%%% results (the same process routes them and the reply, so they arrive in order).
%%%
%%% Bounded: at most ?MAX_RESULTS messages are kept (mod_mam's own page cap; further ones
%%% are dropped), and the wait is the iq timeout. Whatever happens the table entry is removed
%%% and the caller's mailbox flushed; a result that arrives later still (a slow remote
%%% archive) is dropped by the hook rather than delivered to the account's other resources.
%%%
%%% The hook is added by the node's first archive query, not at start: a node that serves
%%% none pays nothing on its routed packets; afterwards, one element/1 and a prefix match.
%%%----------------------------------------------------------------------
-module(mod_rest_mam).

-export([new_table/0, start/0, stop/0, filter/1, query/4]).

%% How often a query asks whether its HTTP client is still there (mod_rest_iq_waits).
-define(PEER_CHECK_INTERVAL, 1000).

-define(TABLE, mod_rest_mam).
-define(RESOURCE_PREFIX, "mod_rest-mam-").
-define(MAX_RESULTS, 250).
-define(NS_MAM, <<"urn:xmpp:mam:2">>).
%% After mod_mam's filter_packet users (none) and before anything that rewrites.
-define(HOOK_SEQ, 50).
-define(HOOKED, {?MODULE, hooked}).

%% The pending queries: {LUser, LServer, LResource} of the query's sender -> the waiting
%% process and its reference. Owned by mod_rest_port, which lives as long as the module.
-spec new_table() -> ok.
new_table() ->
    ?TABLE = ets:new(?TABLE, [named_table, public, set, {read_concurrency, true},
                              {write_concurrency, true}]),
    ok.

%% Nothing until the first query (ensure_hook/0).
-spec start() -> ok.
start() ->
    ok.

-spec stop() -> ok.
stop() ->
    persistent_term:erase(?HOOKED),
    ejabberd_hooks:delete(filter_packet, ?MODULE, filter, ?HOOK_SEQ).

%% The hook, once per node (ejabberd_hooks ignores a second identical add, so two first
%% queries at once are harmless); a persistent term says it is there, read for free.
ensure_hook() ->
    case persistent_term:get(?HOOKED, false) of
        true -> ok;
        false ->
            ejabberd_hooks:add(filter_packet, ?MODULE, filter, ?HOOK_SEQ),
            persistent_term:put(?HOOKED, true)
    end.

%% filter_packet: a message to one of our resources goes to its waiting process, never on.
-spec filter(xmpp:stanza() | drop) -> xmpp:stanza() | drop.
filter(Pkt) when element(1, Pkt) == message ->
    case xmpp:get_to(Pkt) of
        undefined -> Pkt;
        To ->
            case jid:tolower(To) of
                {_, _, <<?RESOURCE_PREFIX, _/binary>>} = Key -> divert(Key, Pkt);
                _ -> Pkt
            end
    end;
filter(Pkt) ->
    Pkt.

divert(Key, Msg) ->
    Waiting = try ets:lookup(?TABLE, Key)
              catch error:badarg -> []   % no table: mod_rest is restarting
              end,
    case Waiting of
        [{_, Pid, Ref}] ->
            Pid ! {mam_result, Ref, Msg},
            drop;
        [] ->
            %% Its request has ended: a late result is dropped, anything else goes on.
            case lists:any(fun(El) -> xmpp:get_ns(El) == ?NS_MAM end, xmpp:get_els(Msg)) of
                true -> drop;
                false -> Msg
            end
    end.

%% Sends the query iq IQ (from the account's bare JID, checked and bound) through Hook
%% (user_send_packet, which may throw) and collects its results for at most Timeout ms, or
%% until the HTTP client of Connection hangs up (then timeout: nobody is left to answer).
%% Returns the iq as sent, its reply and the result messages in the order they came.
-spec query(xmpp:iq(), fun((xmpp:iq()) -> xmpp:iq()), pos_integer(), mod_rest_iq_waits:connection()) ->
          {xmpp:iq(), xmpp:iq(), [xmpp:message()]} | timeout.
query(IQ, Hook, Timeout, Connection) ->
    Resource = <<?RESOURCE_PREFIX, (binary:encode_hex(crypto:strong_rand_bytes(16)))/binary>>,
    Sender = jid:replace_resource(xmpp:get_from(IQ), Resource),
    Key = jid:tolower(Sender),
    Ref = make_ref(),
    Deadline = erlang:monotonic_time(millisecond) + Timeout + 1000,
    true = ets:insert_new(?TABLE, {Key, self(), Ref}),
    ensure_hook(),
    try
        IQ1 = Hook(xmpp:set_from(IQ, Sender)),
        ejabberd_router:route_iq(IQ1, Ref, self(), Timeout),
        collect(Ref, {jid:tolower(xmpp:get_to(IQ1)), Connection}, Deadline, IQ1, [], 0)
    after
        ets:delete(?TABLE, Key),
        flush(Ref)
    end.

collect(Ref, {Archive, Connection} = From, Deadline, IQ, Msgs, N) ->
    Left = max(0, Deadline - erlang:monotonic_time(millisecond)),
    receive
        {mam_result, Ref, Msg} ->
            %% Only the archive queried sends results (the resource is random, but still).
            case N < ?MAX_RESULTS andalso jid:tolower(xmpp:get_from(Msg)) == Archive of
                true -> collect(Ref, From, Deadline, IQ, [Msg | Msgs], N + 1);
                false -> collect(Ref, From, Deadline, IQ, Msgs, N)
            end;
        {iq_reply, timeout, Ref} -> timeout;
        {iq_reply, Reply, Ref} -> {IQ, Reply, lists:reverse(Msgs)}
    after min(Left, ?PEER_CHECK_INTERVAL) ->
            case Left =< ?PEER_CHECK_INTERVAL orelse mod_rest_iq_waits:client_gone(Connection) of
                true -> timeout;
                false -> collect(Ref, From, Deadline, IQ, Msgs, N)
            end
    end.

%% The HTTP process serves the connection's next request: nothing of this one stays queued.
flush(Ref) ->
    receive
        {mam_result, Ref, _} -> flush(Ref);
        {iq_reply, _, Ref} -> flush(Ref)
    after 0 -> ok
    end.
