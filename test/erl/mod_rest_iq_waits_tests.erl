%% SPDX-License-Identifier: GPL-2.0-or-later
%% EUnit tests of mod_rest_iq_waits: the per-account and node-wide bounds, release, the slots of
%% a process killed mid-wait given back, and what tells that a client has gone.
-module(mod_rest_iq_waits_tests).
-include_lib("eunit/include/eunit.hrl").

-define(ALICE, {<<"alice">>, <<"localhost">>}).
-define(BOB, {<<"bob">>, <<"localhost">>}).

with_table(Test) ->
    {setup, fun() -> mod_rest_iq_waits:new_table() end,
     fun(_) -> ets:delete(mod_rest_iq_waits) end, Test}.

%% Runs acquire in a process of its own that holds its slot until told, as an HTTP process does.
holder(Account, PerAccount, NodeWide) ->
    Self = self(),
    Pid = spawn(fun() ->
                        Self ! {acquired, self(), mod_rest_iq_waits:acquire(Account, PerAccount, NodeWide)},
                        receive release -> mod_rest_iq_waits:release(), Self ! {released, self()} end
                end),
    receive {acquired, Pid, Result} -> {Pid, Result} end.

bounds_test_() ->
    with_table(
      fun() ->
              {A1, ok} = holder(?ALICE, 2, 3),
              {_A2, ok} = holder(?ALICE, 2, 3),
              ?assertMatch({_, {refused, account}}, holder(?ALICE, 2, 3)),
              {_B1, ok} = holder(?BOB, 2, 3),
              ?assertMatch({_, {refused, node}}, holder(?BOB, 2, 3)),
              ?assertEqual(3, mod_rest_iq_waits:count(node_total)),
              ?assertEqual(2, mod_rest_iq_waits:count({account, ?ALICE})),
              A1 ! release,
              receive {released, A1} -> ok end,
              ?assertEqual(2, mod_rest_iq_waits:count(node_total)),
              ?assertMatch({_, ok}, holder(?BOB, 2, 3))
      end).

killed_waiters_give_their_slots_back_test_() ->
    with_table(
      fun() ->
              {P, ok} = holder(?ALICE, 1, 1),
              exit(P, kill),
              %% Its row stays until the bound is reached; then it is found dead and released.
              ?assertEqual(1, mod_rest_iq_waits:count(node_total)),
              ?assertMatch({_, ok}, holder(?BOB, 1, 1)),
              ?assertEqual(0, mod_rest_iq_waits:count({account, ?ALICE}))
      end).

client_gone_test() ->
    {ok, L} = gen_tcp:listen(0, [{active, false}, {ip, {127, 0, 0, 1}}]),
    {ok, Port} = inet:port(L),
    {ok, C} = gen_tcp:connect({127, 0, 0, 1}, Port, [{active, false}]),
    {ok, S} = gen_tcp:accept(L),
    ?assertNot(mod_rest_iq_waits:client_gone({gen_tcp, S})),
    %% Bytes waiting to be read (a pipelined request) are not a hang-up, and stay unread.
    ok = gen_tcp:send(C, <<"GET / HTTP/1.1\r\n">>),
    timer:sleep(50),
    ?assertNot(mod_rest_iq_waits:client_gone({gen_tcp, S})),
    ok = gen_tcp:close(C),
    timer:sleep(50),
    ?assert(mod_rest_iq_waits:client_gone({gen_tcp, S})),
    ?assertEqual({ok, "GET / HTTP/1.1\r\n"}, gen_tcp:recv(S, 0, 1000)),
    ok = gen_tcp:close(S),
    ?assert(mod_rest_iq_waits:client_gone({gen_tcp, S})),
    ?assertNot(mod_rest_iq_waits:client_gone(none)),
    gen_tcp:close(L).
