%% SPDX-License-Identifier: GPL-2.0-or-later
%%%----------------------------------------------------------------------
%%% mod_rest_webhook_chain: how many webhook replies in a row led to a stanza (a hop count), so
%%% that two webhooks answering each other stop (security issue 16, item 13).
%%%
%%% When a webhook's reply is routed, it is remembered here by (from, to, id) with the hop count
%%% of the stanza it answers plus one. When a webhook takes a stanza, it looks the stanza up
%%% (and forgets it): a stanza that is no webhook's reply counts 0. A webhook refuses a stanza
%%% that already went through ?MAX_HOPS replies (mod_rest_webhook: policy-violation to its
%%% sender, which is never answered), so a loop between bots makes at most ?MAX_HOPS + 1 calls.
%%%
%%% The stanza's own attributes carry nothing: clients see the replies as the bots wrote them.
%%% Replies that reach no webhook (a person's client) are forgotten after ?TTL by sweep/0. The
%%% table is per node: filter_packet and the offline hook run where the reply is routed, which is
%%% the node of the webhook that answered. It is bounded (?MAX_ENTRIES); past the bound a reply is
%%% not remembered and counts as a new chain.
%%%----------------------------------------------------------------------
-module(mod_rest_webhook_chain).

-export([new_table/0, remember/2, take/1, too_long/1, sweep/0, max_hops/0]).

-define(TABLE, mod_rest_webhook_chains).
%% Bots that answer each other's answers this many times in a row are looping; one bot asking
%% another and getting its answer is 1 hop.
-define(MAX_HOPS, 5).
%% A reply reaches the next webhook within milliseconds (its process takes it when the hook
%% hands it over, before any queue): ten seconds are far beyond that.
-define(TTL, 10000).
-define(MAX_ENTRIES, 100000).

%% Owned by mod_rest_port, as the other tables of the node's requests.
-spec new_table() -> ok.
new_table() ->
    _ = ets:new(?TABLE, [named_table, public, set, {write_concurrency, true}]),
    ok.

-spec max_hops() -> pos_integer().
max_hops() -> ?MAX_HOPS.

%% Reply, a webhook's answer about to be routed, is Hops replies into its chain.
-spec remember(xmpp:stanza(), pos_integer()) -> ok.
remember(Reply, Hops) ->
    try ets:info(?TABLE, size) < ?MAX_ENTRIES andalso
            ets:insert(?TABLE, {key(Reply), Hops, erlang:monotonic_time(millisecond)}) of
        _ -> ok
    catch error:badarg -> ok   % the table's owner is restarting: the reply starts a new chain
    end.

%% How many webhook replies led to Pkt (0: none); forgotten once read.
-spec take(xmpp:stanza()) -> non_neg_integer().
take(Pkt) ->
    try ets:take(?TABLE, key(Pkt)) of
        [{_, Hops, _}] -> Hops;
        [] -> 0
    catch error:badarg -> 0
    end.

-spec too_long(non_neg_integer()) -> boolean().
too_long(Hops) -> Hops >= ?MAX_HOPS.

%% Forgets the replies older than ?TTL; every webhook process calls it now and then.
-spec sweep() -> non_neg_integer().
sweep() ->
    Oldest = erlang:monotonic_time(millisecond) - ?TTL,
    try ets:select_delete(?TABLE, [{{'_', '_', '$1'}, [{'<', '$1', Oldest}], [true]}])
    catch error:badarg -> 0
    end.

key(Pkt) ->
    {jid:tolower(xmpp:get_from(Pkt)), jid:tolower(xmpp:get_to(Pkt)), xmpp:get_id(Pkt)}.
