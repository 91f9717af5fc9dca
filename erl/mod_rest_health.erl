%% SPDX-License-Identifier: GPL-2.0-or-later
%%%----------------------------------------------------------------------
%%% mod_rest_health: the worker's liveness for GET /rest/health, one ping at a time.
%%%
%%% Concurrent health checks share one ping (security issue 16, item 16): the first check
%%% starts a probe process, registered under this module's name, which pings the worker
%%% (mod_rest_port:ping/2) and hands the one result to every check that joined it while it
%%% ran. A load balancer's hundreds of checks a second thus cost one frame in flight, never
%%% fill max_in_flight nor the port's input, and cannot flap a healthy node to 503. Nothing
%%% is cached: a check that arrives after a result was handed out starts the next probe, so a
%%% 200 always comes from a pong received after the check arrived or while it waited.
%%%
%%% No supervisor: a probe lives for one ping (at most health_timeout) and exits. A check
%%% monitors the probe it joined; when the probe went away without answering it (it had
%%% already handed out its result, or the registration raced), the check joins the next one.
%%%----------------------------------------------------------------------
-module(mod_rest_health).

-export([check/2]).

-define(PROBE, ?MODULE).
%% A check that keeps finding probes that finished just before it joined gives up after this
%% many: the worker answered the probes, but this check pings by itself.
-define(MAX_JOINS, 5).

%% What mod_rest_port:ping/2 would answer, shared with the checks that run at the same time.
-spec check(pos_integer(), pos_integer()) -> ok | {error, mod_rest_port:call_error() | garbled}.
check(Timeout, MaxInFlight) ->
    check(Timeout, MaxInFlight, ?MAX_JOINS).

check(Timeout, MaxInFlight, 0) ->
    mod_rest_port:ping(Timeout, MaxInFlight);
check(Timeout, MaxInFlight, Joins) ->
    Probe = case whereis(?PROBE) of
                undefined -> start_probe(Timeout, MaxInFlight);
                Pid -> Pid
            end,
    Ref = monitor(process, Probe),
    Probe ! {join, self(), Ref},
    receive
        {?MODULE, Ref, Result} ->
            demonitor(Ref, [flush]),
            Result;
        {'DOWN', Ref, process, _, _} ->
            check(Timeout, MaxInFlight, Joins - 1)
    after Timeout + 1000 ->
            %% The probe's own ping has a deadline of Timeout: not expected.
            demonitor(Ref, [flush]),
            {error, timeout}
    end.

%% A probe that registers itself: when another one won the name, it exits at once and its
%% joiners find the winner on their next try.
start_probe(Timeout, MaxInFlight) ->
    spawn(fun() ->
                  try register(?PROBE, self()) of
                      true ->
                          Result = mod_rest_port:ping(Timeout, MaxInFlight),
                          %% Unregistered before the result goes out: a check that arrives
                          %% from now on starts the next probe rather than reads this result.
                          unregister(?PROBE),
                          answer_joiners(Result)
                  catch error:badarg -> ok
                  end
          end).

answer_joiners(Result) ->
    receive
        {join, Pid, Ref} ->
            Pid ! {?MODULE, Ref, Result},
            answer_joiners(Result)
    after 0 -> ok
    end.
