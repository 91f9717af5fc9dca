%% SPDX-License-Identifier: GPL-2.0-or-later
%%% EUnit tests of what the web admin page shows: units on every option, secrets and URL
%%% tokens hidden, latency percentiles from the histogram's buckets, the sparkline, the
%%% webhooks' health.
-module(mod_rest_display_tests).
-include_lib("eunit/include/eunit.hrl").

timeouts_carry_their_unit_test() ->
    ?assertEqual(<<"5 seconds">>, mod_rest_display:option(request_timeout, 5000)),
    ?assertEqual(<<"1 second">>, mod_rest_display:option(health_timeout, 1000)),
    ?assertEqual(<<"250 ms">>, mod_rest_display:option(health_timeout, 250)),
    ?assertEqual(<<"300 seconds">>, mod_rest_display:option(iq_max_timeout, 300000)),
    ?assertEqual(<<"20971520 bytes (20 MiB)">>, mod_rest_display:option(max_body_size, 20971520)),
    ?assertEqual(<<"1000 bytes">>, mod_rest_display:option(max_body_size, 1000)),
    ?assertEqual(<<"256 elements">>, mod_rest_display:option(max_xml_elements, 256)),
    %% Options added later are read by their names' endings.
    ?assertEqual(<<"2 seconds">>, mod_rest_display:option(some_new_timeout, 2000)),
    ?assertEqual(<<"192 bytes">>, mod_rest_display:option(max_json_size, 192)).

%% Every integer a default holds has a unit: a new option without one fails here.
every_numeric_default_has_a_unit_test() ->
    {ok, _} = application:ensure_all_started(xmpp),   % jid:make/1 in the defaults: a NIF
    Numeric = [{K, V} || {K, V} <- mod_rest:mod_options(<<"localhost">>), is_integer(V)],
    ?assertNotEqual([], Numeric),
    [?assertMatch({_, {match, _}}, {K, re:run(mod_rest_display:option(K, V), <<"^[0-9]+ [a-z]">>)})
     || {K, V} <- Numeric].

secrets_are_hidden_test() ->
    Hook = #{url => <<"https://bot:pa55@hooks.example:8443/services/T0/B0/XXXXXXXXXXXXXXXXXXXXXXXX/{to}?token=abc123&x#frag">>,
             secret => <<"s3cr3t-value">>, timeout => 10000, retry_delay => 1000, queue_size => 100,
             accounts => [], domain => <<"bot.localhost">>},
    Shown = mod_rest_display:option(webhooks, [Hook]),
    [?assertEqual(nomatch, binary:match(Shown, Secret), Secret)
     || Secret <- [<<"s3cr3t">>, <<"pa55">>, <<"bot:">>, <<"abc123">>, <<"XXXXXXXX">>, <<"frag">>]],
    ?assertEqual(<<"https://***@hooks.example:8443/services/T0/B0/***/{to}?token=***&***#***">>,
                 mod_rest_display:mask_url(maps:get(url, Hook))),
    ?assertNotEqual(nomatch, binary:match(Shown, <<"secret: (set, hidden)">>)),
    ?assertNotEqual(nomatch, binary:match(Shown, <<"timeout: 10 seconds">>)),
    ?assertNotEqual(nomatch, binary:match(Shown, <<"retry_delay: 1 second">>)),
    ?assertEqual(<<"http://***@h/x">>, mod_rest_display:mask_url(<<"http://a-user:a-long-password@h/x">>)),
    ?assertEqual(<<"http://localhost:8080/bot">>, mod_rest_display:mask_url(<<"http://localhost:8080/bot">>)),
    ?assertEqual(<<"(set, hidden)">>, mod_rest_display:option(client_secret, <<"x">>)),
    ?assertEqual(<<"none">>, mod_rest_display:option(secret, none)).

quantiles_are_estimated_within_buckets_test() ->
    Empty = lists:duplicate(14, 0),
    ?assertEqual(none, mod_rest_metrics:quantile(0.5, Empty)),
    %% 100 observations in the first bucket (0 to 1 ms): the median is half-way, at 0.5 ms.
    ?assertEqual({ok, 500.0}, mod_rest_metrics:quantile(0.5, [100 | tl(Empty)])),
    %% 90 in (1, 2.5] ms and 10 past 10 s: p50 inside the second bucket, p99 past the last bound.
    Mixed = [0, 90 | lists:duplicate(11, 0)] ++ [10],
    ?assertEqual({ok, 1000 + 1500 * 50 / 90}, mod_rest_metrics:quantile(0.5, Mixed)),
    ?assertEqual({above, 10000000}, mod_rest_metrics:quantile(0.99, Mixed)),
    ?assertEqual(<<"1.83 ms">>, mod_rest_display:latency(mod_rest_metrics:quantile(0.5, Mixed))),
    ?assertEqual(<<"> 10 s">>, mod_rest_display:latency(mod_rest_metrics:quantile(0.99, Mixed))),
    ?assertEqual(<<"-">>, mod_rest_display:latency(mod_rest_metrics:quantile(0.9, Empty))).

sparkline_is_a_step_line_of_rates_test() ->
    Rates = mod_rest_display:rates([{0, 0}, {10000, 100}, {20000, 100}]),
    ?assertEqual([{0, 10000, 10.0}, {10000, 20000, 0.0}], Rates),
    {xmlel, <<"svg">>, _, [_, {xmlel, <<"polyline">>, Attrs, []}]} = mod_rest_display:sparkline(Rates, 20000),
    {_, Points} = lists:keyfind(<<"points">>, 1, Attrs),
    %% 20 seconds of readings across 300 px; the peak at the top, zero at the bottom.
    ?assertEqual(<<"0.0,1.0 150.0,1.0 150.0,39.0 300.0,39.0">>, Points),
    %% Past ten minutes, the oldest readings fall off the left edge.
    Old = mod_rest_display:rates([{0, 0}, {10000, 100}, {700000, 100}]),
    {xmlel, <<"svg">>, _, [_, {xmlel, <<"polyline">>, Attrs2, []}]} = mod_rest_display:sparkline(Old, 700000),
    ?assertEqual({<<"points">>, <<"0.0,39.0 300.0,39.0">>}, lists:keyfind(<<"points">>, 1, Attrs2)).

webhook_health_test() ->
    W = #{held => 0, queue_size => 100},
    ?assertEqual(<<"no call yet">>, mod_rest_webadmin:health(W#{last => none}, 100)),
    ?assertEqual(<<"ok: the last call was answered 2xx (3 s ago)">>,
                 mod_rest_webadmin:health(W#{last => {sent, 97}}, 100)),
    ?assertEqual(<<"failing: unreachable, retrying (0 s ago)">>,
                 mod_rest_webadmin:health(W#{last => {retried, 100}}, 100)),
    ?assertEqual(<<"overloaded: its queue is full">>,
                 mod_rest_webadmin:health(W#{held => 100, last => {sent, 1}}, 100)).
