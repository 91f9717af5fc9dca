%% SPDX-License-Identifier: GPL-2.0-or-later
%%%----------------------------------------------------------------------
%%% mod_rest_iq_waits: the iqs of the authenticated API that wait for their replies, bounded
%%% per account and per node, and given up when their HTTP client has gone (security issue 16,
%%% item 4).
%%%
%%% Each wait holds an HTTP connection, its process and a socket for up to iq_max_timeout. They
%%% are not the worker's requests and do not count in max_in_flight: they have bounds of their
%%% own, max_iq_waits_per_account (an account past it gets 429) and max_iq_waits (the node past it
%%% gets 503), counted in an ETS table with one row per waiting process, so that a process killed
%%% mid-wait (no `after` runs) is found and its slot given back the next time a bound is reached.
%%%
%%% A client that hangs up is seen by asking the kernel for the connection's TCP state (Linux
%%% TCP_INFO, getsockopt; one system call every ?PEER_CHECK_INTERVAL): anything but ESTABLISHED
%%% means the peer closed or reset it. Reading the socket (recv with a 0 timeout, or {active,
%%% once}) would consume bytes of a pipelined next request that ejabberd_http still has to read,
%%% and inet:peername/1 still succeeds on a half-closed connection: neither is used. A client that
%%% half-closes after its request (shutdown(SHUT_WR)) counts as gone; HTTP clients and proxies do
%%% not do that. Where TCP_INFO cannot be read (another OS), the wait lasts its full timeout.
%%% ejabberd_iq keeps its own small row for an abandoned iq until the iq's timeout (it has no
%%% cancel); the reply, if one comes, goes to a process that no longer exists.
%%%----------------------------------------------------------------------
-module(mod_rest_iq_waits).

-export([new_table/0, acquire/3, release/0, await/3, client_gone/1, count/1]).

-define(TABLE, mod_rest_iq_waits).
-define(NODE, node_total).
%% How often a wait asks whether its client is still there: a second costs nothing measurable
%% and frees an abandoned wait long before any iq timeout.
-define(PEER_CHECK_INTERVAL, 1000).
%% Linux: getsockopt(IPPROTO_TCP, TCP_INFO); its first byte is the state, 1 = ESTABLISHED.
-define(IPPROTO_TCP, 6).
-define(TCP_INFO, 11).
-define(TCP_ESTABLISHED, 1).

-type connection() :: {gen_tcp | fast_tls | module(), term()} | none.
-export_type([connection/0]).

%% Owned by mod_rest_port, as the other tables of the node's requests.
-spec new_table() -> ok.
new_table() ->
    _ = ets:new(?TABLE, [named_table, public, set, {write_concurrency, true}]),
    ok.

%% Takes a slot for the calling process's iq wait, for Account ({LUser, LServer}); release/0
%% gives it back. One wait per process: an HTTP request waits for one iq at a time.
-spec acquire({binary(), binary()}, pos_integer(), pos_integer()) -> ok | {refused, account | node}.
acquire(Account, PerAccount, NodeWide) ->
    case take_slot(?NODE, NodeWide) of
        full -> {refused, node};
        ok ->
            case take_slot({account, Account}, PerAccount) of
                full ->
                    decrement(?NODE),
                    {refused, account};
                ok ->
                    ets:insert(?TABLE, {{wait, self()}, Account}),
                    ok
            end
    end.

-spec release() -> ok.
release() ->
    release(self()).

%% How many waits Key holds now: node_total, or {account, {LUser, LServer}}. For tests.
-spec count(term()) -> non_neg_integer().
count(Key) ->
    try ets:lookup_element(?TABLE, {count, Key}, 2)
    catch error:badarg -> 0
    end.

%% Waits for the iq reply that ejabberd_router:route_iq/4 sends for Ref: the reply, timeout (the
%% iq's deadline passed) or client_gone (the HTTP client hung up: nobody is left to answer).
-spec await(reference(), pos_integer(), connection()) -> {reply, term()} | timeout | client_gone.
await(Ref, Timeout, Connection) ->
    %% route_iq answers {iq_reply, timeout, Ref} at Timeout; a second more in case it never does.
    await_until(Ref, erlang:monotonic_time(millisecond) + Timeout + 1000, Connection).

await_until(Ref, Deadline, Connection) ->
    Left = max(0, Deadline - erlang:monotonic_time(millisecond)),
    receive
        {iq_reply, timeout, Ref} -> timeout;
        {iq_reply, Reply, Ref} -> {reply, Reply}
    after min(Left, ?PEER_CHECK_INTERVAL) ->
            case {Left =< ?PEER_CHECK_INTERVAL, client_gone(Connection)} of
                {true, _} -> timeout;
                {false, true} -> client_gone;
                {false, false} -> await_until(Ref, Deadline, Connection)
            end
    end.

%% Whether the HTTP client of this connection has closed or reset it; false when that cannot be
%% told (another OS, an unknown socket type).
-spec client_gone(connection()) -> boolean().
client_gone(none) -> false;
client_gone({SockMod, Socket}) ->
    case os:type() == {unix, linux} andalso tcp_socket(SockMod, Socket) of
        false -> false;
        undefined -> false;
        TcpSocket ->
            case inet:getopts(TcpSocket, [{raw, ?IPPROTO_TCP, ?TCP_INFO, 1}]) of
                {ok, [{raw, _, _, <<?TCP_ESTABLISHED>>}]} -> false;
                {ok, [{raw, _, _, <<_OtherState>>}]} -> true;
                {error, einval} -> true;   % the port is closed
                _ -> false
            end
    end.

tcp_socket(gen_tcp, Socket) -> Socket;
tcp_socket(fast_tls, {tlssock, TcpSocket, _}) -> TcpSocket;   % fast_tls's #tlssock{}
tcp_socket(_, _) -> undefined.

%%%===================================================================
%%% Internals
%%%===================================================================
%% A counter that may pass Max only for an instant: an increment past it is undone.
take_slot(Key, Max) ->
    case increment(Key) =< Max of
        true -> ok;
        false ->
            decrement(Key),
            %% Full: give back the slots of processes killed mid-wait, then try once more.
            case heal() of
                0 -> full;
                _ ->
                    case increment(Key) =< Max of
                        true -> ok;
                        false -> decrement(Key), full
                    end
            end
    end.

increment(Key) ->
    ets:update_counter(?TABLE, {count, Key}, 1, {{count, Key}, 0}).

decrement(Key) ->
    ets:update_counter(?TABLE, {count, Key}, -1, {{count, Key}, 0}).

release(Pid) ->
    %% ets:take: of two processes releasing the same dead waiter, only one gives its slots back.
    case ets:take(?TABLE, {wait, Pid}) of
        [{_, Account}] ->
            decrement({account, Account}),
            decrement(?NODE),
            ok;
        [] -> ok
    end.

heal() ->
    Dead = [Pid || [Pid] <- ets:match(?TABLE, {{wait, '$1'}, '_'}), not is_process_alive(Pid)],
    lists:foreach(fun release/1, Dead),
    length(Dead).
