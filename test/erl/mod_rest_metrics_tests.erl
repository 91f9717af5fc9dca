%% SPDX-License-Identifier: GPL-2.0-or-later
%%% EUnit tests of the figures: route labels from a fixed set, the latency buckets, the
%%% Prometheus text, and the registry other modules add figures through.
-module(mod_rest_metrics_tests).
-include_lib("eunit/include/eunit.hrl").

routes_test() ->
    ?assertEqual([root, echo, openapi, metrics, health, path, payload_to, kind_type_to, other, other],
                 [mod_rest_metrics:route(P)
                  || P <- [[], [<<"echo">>], [<<"openapi.json">>], [<<"metrics">>], [<<"health">>],
                           [<<"anything">>], [<<"version">>, <<"a@b">>],
                           [<<"message">>, <<"chat">>, <<"a@b">>], [<<"a">>, <<"b">>, <<"c">>, <<"d">>],
                           lists:duplicate(50, <<"x">>)]]).

buckets_test() ->
    ?assertEqual([1, 1, 2, 13, 14, 14],
                 [mod_rest_metrics:bucket_index(U) || U <- [0, 1000, 1001, 10000000, 10000001, 1 bsl 40]]).

%% The value of one sample line of the text, 0 when absent (as Prometheus reads it).
value(Text, Line) ->
    case re:run(Text, ["^", re_escape(Line), " (\\S+)$"], [multiline, {capture, all_but_first, binary}]) of
        {match, [V]} -> binary_to_number(V);
        nomatch -> 0
    end.

binary_to_number(B) ->
    try binary_to_integer(B) catch error:badarg -> binary_to_float(B) end.

re_escape(S) ->
    re:replace(S, "[][{}()*+?.\\\\^$|]", "\\\\&", [global, {return, binary}]).

requests_move_the_counters_test() ->
    Before = mod_rest_metrics:prometheus(),
    T0 = mod_rest_metrics:request_started(),
    ?assertEqual(value(Before, <<"mod_rest_requests_in_flight">>) + 1,
                 value(mod_rest_metrics:prometheus(), <<"mod_rest_requests_in_flight">>)),
    ok = mod_rest_metrics:request_done(echo, 202, 10, 20, T0),
    ok = mod_rest_metrics:request_done(echo, 503, 1, 2, mod_rest_metrics:request_started()),
    ok = mod_rest_metrics:refused(overloaded),
    ok = mod_rest_metrics:refused(not_a_reason),                 % outside the set: nothing
    ok = mod_rest_metrics:action(route, 200),
    ok = mod_rest_metrics:action(command, 403),                   % refused in the VM
    ok = mod_rest_metrics:worker_state(ready),
    After = mod_rest_metrics:prometheus(),
    Delta = fun(Line) -> value(After, Line) - value(Before, Line) end,
    ?assertEqual(1, Delta(<<"mod_rest_requests_total{route=\"/echo\",class=\"2xx\"}">>)),
    ?assertEqual(1, Delta(<<"mod_rest_requests_total{route=\"/echo\",class=\"5xx\"}">>)),
    ?assertEqual(0, Delta(<<"mod_rest_requests_in_flight">>)),
    ?assertEqual(11, Delta(<<"mod_rest_request_bytes_total{route=\"/echo\"}">>)),
    ?assertEqual(22, Delta(<<"mod_rest_response_bytes_total{route=\"/echo\"}">>)),
    ?assertEqual(2, Delta(<<"mod_rest_request_duration_seconds_count{route=\"/echo\"}">>)),
    ?assertEqual(2, Delta(<<"mod_rest_request_duration_seconds_bucket{route=\"/echo\",le=\"+Inf\"}">>)),
    ?assertEqual(1, Delta(<<"mod_rest_refused_total{reason=\"overloaded\"}">>)),
    ?assertEqual(1, Delta(<<"mod_rest_actions_total{action=\"route\"}">>)),
    ?assertEqual(0, Delta(<<"mod_rest_actions_total{action=\"command\"}">>)),
    ?assertEqual(1, Delta(<<"mod_rest_actions_refused_total{action=\"command\"}">>)),
    ?assertEqual(1, value(After, <<"mod_rest_worker_up">>)),
    ?assertEqual(1, value(After, <<"mod_rest_worker_state{state=\"ready\"}">>)),
    ?assertEqual(0, value(After, <<"mod_rest_worker_state{state=\"down\"}">>)).

prometheus_text_is_well_formed_test() ->
    Text = mod_rest_metrics:prometheus(),
    Lines = binary:split(Text, <<"\n">>, [global, trim]),
    Types = [T || <<"# TYPE ", T/binary>> <- Lines],
    ?assert(length(Types) >= 10),
    %% Every sample line: a name, optional labels, one number; every name has its TYPE line.
    Families = [hd(binary:split(T, <<" ">>)) || T <- Types],
    lists:foreach(
      fun(<<"#", _/binary>>) -> ok;
         (Line) ->
              ?assertMatch({match, _}, re:run(Line, "^[a-z_]+(\\{[a-z_]+=\"[^\"]*\"(,[a-z_]+=\"[^\"]*\")*\\})? -?[0-9.e+-]+$")),
              [Name | _] = binary:split(Line, [<<"{">>, <<" ">>]),
              Family = re:replace(Name, "_(bucket|sum|count)$", "", [{return, binary}]),
              ?assert(lists:member(Name, Families) orelse lists:member(Family, Families))
      end, Lines),
    %% Histogram buckets are cumulative.
    T0 = mod_rest_metrics:request_started(),
    ok = mod_rest_metrics:request_done(health, 200, 0, 5, T0 - 3000000),   % 3 s ago
    Text2 = mod_rest_metrics:prometheus(),
    Bucket = fun(Le) -> value(Text2, <<"mod_rest_request_duration_seconds_bucket{route=\"/health\",le=\"", Le/binary, "\"}">>) end,
    ?assert(Bucket(<<"2.5">>) < Bucket(<<"5.0">>)),
    ?assert(Bucket(<<"5.0">>) =< Bucket(<<"+Inf">>)),
    ?assertEqual(<<"text/plain; version=0.0.4; charset=utf-8">>, mod_rest_metrics:content_type()).

registry_test() ->
    Name = mod_rest_test_webhook_deliveries_total,
    ?assertEqual(undeclared, mod_rest_metrics:inc(Name, delivered)),
    ok = mod_rest_metrics:declare(Name, counter, <<"Test deliveries.">>, outcome, [delivered, failed]),
    ok = mod_rest_metrics:declare(Name, counter, <<"Test deliveries.">>, outcome, [failed, delivered]),
    ok = mod_rest_metrics:inc(Name, delivered),
    ok = mod_rest_metrics:inc(Name, failed, 3),
    ?assertEqual(undeclared, mod_rest_metrics:inc(Name, 'not declared')),
    ok = mod_rest_metrics:declare(mod_rest_test_queue, gauge, <<"Test queue.">>, none, []),
    ok = mod_rest_metrics:set(mod_rest_test_queue, none, 7),
    Text = mod_rest_metrics:prometheus(),
    ?assertEqual(1, value(Text, <<"mod_rest_test_webhook_deliveries_total{outcome=\"delivered\"}">>)),
    ?assertEqual(3, value(Text, <<"mod_rest_test_webhook_deliveries_total{outcome=\"failed\"}">>)),
    ?assertEqual(7, value(Text, <<"mod_rest_test_queue">>)),
    ?assertNotEqual(nomatch, binary:match(Text, <<"# TYPE mod_rest_test_queue gauge\n">>)),
    ?assertEqual(nomatch, binary:match(Text, <<"not declared">>)).

ip_allowed_test() ->
    Loopback = [{{127, 0, 0, 1}, 32}, {{0, 0, 0, 0, 0, 0, 0, 1}, 128}],
    ?assert(mod_rest_ops:ip_allowed({127, 0, 0, 1}, Loopback)),
    ?assert(mod_rest_ops:ip_allowed({0, 0, 0, 0, 0, 16#ffff, 16#7f00, 1}, Loopback)),   % ::ffff:127.0.0.1
    ?assertNot(mod_rest_ops:ip_allowed({192, 0, 2, 1}, Loopback)),
    ?assert(mod_rest_ops:ip_allowed({192, 0, 2, 1}, all)).
