%% SPDX-License-Identifier: GPL-2.0-or-later
%%% EUnit tests of the per-IP rate limit.
-module(mod_rest_rate_tests).
-include_lib("eunit/include/eunit.hrl").

with_table(Test) ->
    {setup, fun mod_rest_rate:new/0, fun(_) -> ets:delete(mod_rest_rate) end, Test}.

limit_test_() ->
    with_table(
      fun() ->
              IP = {192, 0, 2, 1},
              Other = {0, 0, 0, 0, 0, 0, 0, 1},
              ?assertEqual([ok, ok, ok, limited, limited],
                           [mod_rest_rate:check(IP, 3, 5000) || _ <- lists:seq(1, 5)]),
              ?assertEqual(ok, mod_rest_rate:check(Other, 3, 5000)),      % per IP
              ?assertEqual(ok, mod_rest_rate:check(IP, 3, 6000)),         % a new window
              ?assertEqual(ok, mod_rest_rate:check(IP, unlimited, 5000)),
              ?assertEqual(2, mod_rest_rate:sweep(6000)),                 % the two 5 s windows
              ?assertEqual([{{IP, 6}, 1}], ets:tab2list(mod_rest_rate))
      end).

auth_failures_test_() ->
    with_table(
      fun() ->
              IP = {192, 0, 2, 7},
              Minute = 120000,
              Fail = fun(T) -> {ok, A} = mod_rest_rate:auth_attempt(IP, 2, T),
                               mod_rest_rate:auth_done(A, failed) end,
              ?assertNot(mod_rest_rate:auth_blocked(IP, 2, Minute)),
              Fail(Minute),
              ?assertNot(mod_rest_rate:auth_blocked(IP, 2, Minute + 1000)),
              {ok, Good} = mod_rest_rate:auth_attempt(IP, 2, Minute + 1000),
              mod_rest_rate:auth_done(Good, ok),                              % gives its place back
              Fail(Minute + 1000),
              ?assert(mod_rest_rate:auth_blocked(IP, 2, Minute + 59999)),     % same minute
              ?assertEqual(blocked, mod_rest_rate:auth_attempt(IP, 2, Minute + 59999)),
              ?assertNot(mod_rest_rate:auth_blocked({192, 0, 2, 8}, 2, Minute)), % per IP
              ?assertNot(mod_rest_rate:auth_blocked(IP, 2, Minute + 60000)),  % next minute
              ?assertEqual(0, mod_rest_rate:sweep(Minute + 59999)),           % not over yet
              ?assertEqual(1, mod_rest_rate:sweep(Minute + 61000))            % then swept
      end).

%% Attempts under way take their places before their checks: a third one waits, and is
%% refused once the two have failed.
auth_attempts_under_way_test_() ->
    with_table(
      fun() ->
              IP = {192, 0, 2, 9},
              {ok, A} = mod_rest_rate:auth_attempt(IP, 2, 0),
              {ok, B} = mod_rest_rate:auth_attempt(IP, 2, 0),
              Self = self(),
              spawn(fun() -> Self ! {third, mod_rest_rate:auth_attempt(IP, 2, 0)} end),
              timer:sleep(50),
              mod_rest_rate:auth_done(A, failed),
              mod_rest_rate:auth_done(B, failed),
              ?assertEqual({third, blocked}, receive {third, _} = R -> R after 3000 -> none end)
      end).

auth_client_test() ->
    ?assertEqual({127, 0, 0, 1}, mod_rest_rate:auth_client({0, 0, 0, 0, 0, 16#ffff, 16#7f00, 1})),
    ?assertEqual({16#2001, 16#db8, 1, 2, 0, 0, 0, 0},
                 mod_rest_rate:auth_client({16#2001, 16#db8, 1, 2, 3, 4, 5, 6})),
    ?assertEqual({192, 0, 2, 1}, mod_rest_rate:auth_client({192, 0, 2, 1})).
