%% SPDX-License-Identifier: GPL-2.0-or-later
%% EUnit tests of mod_rest_webhook_chain: a reply's hop count is found once by the stanza's
%% (from, to, id), anything else counts 0, and the chain is too long at max_hops/0.
-module(mod_rest_webhook_chain_tests).
-include_lib("eunit/include/eunit.hrl").

msg(From, To, Id) ->
    xmpp:decode({xmlel, <<"message">>, [{<<"xmlns">>, <<"jabber:client">>}, {<<"from">>, From},
                                        {<<"to">>, To}, {<<"id">>, Id}], []}).

chain_test_() ->
    %% jid and stringprep are NIFs that their applications load.
    {setup, fun() -> {ok, _} = application:ensure_all_started(xmpp), mod_rest_webhook_chain:new_table() end,
     fun(_) -> ets:delete(mod_rest_webhook_chains) end,
     fun() ->
             Reply = msg(<<"bot@a.localhost">>, <<"Bot@B.localhost/x">>, <<"r1">>),
             ok = mod_rest_webhook_chain:remember(Reply, 3),
             ?assertEqual(0, mod_rest_webhook_chain:take(msg(<<"bot@a.localhost">>, <<"bot@b.localhost/x">>, <<"other">>))),
             %% JIDs compared as ejabberd compares them (case of the node and domain).
             ?assertEqual(3, mod_rest_webhook_chain:take(msg(<<"bot@a.localhost">>, <<"bot@b.localhost/x">>, <<"r1">>))),
             ?assertEqual(0, mod_rest_webhook_chain:take(Reply)),
             ?assertNot(mod_rest_webhook_chain:too_long(mod_rest_webhook_chain:max_hops() - 1)),
             ?assert(mod_rest_webhook_chain:too_long(mod_rest_webhook_chain:max_hops())),
             ?assertEqual(0, mod_rest_webhook_chain:sweep())
     end}.
