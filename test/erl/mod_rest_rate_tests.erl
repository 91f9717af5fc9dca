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
              ?assertNot(mod_rest_rate:auth_blocked(IP, 2, Minute)),
              mod_rest_rate:auth_failed(IP, Minute),
              ?assertNot(mod_rest_rate:auth_blocked(IP, 2, Minute + 1000)),
              mod_rest_rate:auth_failed(IP, Minute + 1000),
              ?assert(mod_rest_rate:auth_blocked(IP, 2, Minute + 59999)),     % same minute
              ?assertNot(mod_rest_rate:auth_blocked({192, 0, 2, 8}, 2, Minute)), % per IP
              ?assertNot(mod_rest_rate:auth_blocked(IP, 2, Minute + 60000)),  % next minute
              ?assertEqual(0, mod_rest_rate:sweep(Minute + 59999)),           % not over yet
              ?assertEqual(1, mod_rest_rate:sweep(Minute + 61000))            % then swept
      end).
