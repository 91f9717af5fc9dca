%% SPDX-License-Identifier: GPL-2.0-or-later
%% EUnit tests of mod_rest_webhook's pure parts: how a call's outcome is read, the retry delays,
%% HTTP statuses as stanza errors, URL validation.
-module(mod_rest_webhook_tests).
-include_lib("eunit/include/eunit.hrl").

classify_test_() ->
    C = fun mod_rest_webhook:classify/1,
    Reply = {xmlel, <<"message">>, [], []},
    [?_assertEqual({ok, none}, C({done, {ok, {webhook_done, 204, none}}})),
     ?_assertEqual({ok, Reply}, C({done, {ok, {webhook_done, 200, Reply}}})),
     %% 503 and a refused connection are "down": a message is retried.
     ?_assertMatch({down, _}, C({done, {ok, {webhook_done, 503, none}}})),
     ?_assertEqual({down, <<"ECONNREFUSED">>}, C({done, {ok, {webhook_failed, unreachable, <<"ECONNREFUSED">>}}})),
     ?_assertEqual({refused, 500}, C({done, {ok, {webhook_done, 500, none}}})),
     ?_assertEqual({refused, 302}, C({done, {ok, {webhook_done, 302, none}}})),
     ?_assertEqual(timeout, C({done, {ok, {webhook_failed, timeout, <<"1000 ms">>}}})),
     ?_assertEqual(timeout, C({done, {error, timeout}})),
     %% The worker died mid-call, or is restarting: not acknowledged, so retried.
     ?_assertMatch({down, _}, C({done, {error, worker_died}})),
     ?_assertMatch({down, _}, C({done, {error, unavailable}})),
     ?_assertEqual({bad_answer, <<"x">>}, C({done, {ok, {webhook_failed, bad_answer, <<"x">>}}})),
     %% The call's process crashed: one failure, never a crash of the webhook process.
     ?_assertMatch({bad_answer, _}, C({badarg, []}))].

backoff_test_() ->
    [?_assertEqual(100, mod_rest_webhook:backoff(100, 0)),
     ?_assertEqual(200, mod_rest_webhook:backoff(100, 1)),
     ?_assertEqual(800, mod_rest_webhook:backoff(100, 3)),
     ?_assertEqual(60000, mod_rest_webhook:backoff(1000, 10)),
     ?_assertEqual(60000, mod_rest_webhook:backoff(1000, 1000))].

http_error_test_() ->
    E = fun mod_rest_webhook:http_error/1,
    [?_assertEqual(bad_request, E(400)), ?_assertEqual(not_authorized, E(401)),
     ?_assertEqual(item_not_found, E(404)), ?_assertEqual(bad_request, E(418)),
     ?_assertEqual(internal_server_error, E(500)), ?_assertEqual(remote_server_timeout, E(504)),
     ?_assertEqual(internal_server_error, E(599)), ?_assertEqual(internal_server_error, E(302))].

validate_url_test_() ->
    V = fun mod_rest_webhook:validate_url/1,
    [?_assertEqual(<<"http://127.0.0.1:8080/{kind}?to={to}">>, V(<<"http://127.0.0.1:8080/{kind}?to={to}">>)),
     ?_assertEqual(<<"HTTPS://bots.example/x">>, V(<<"HTTPS://bots.example/x">>)),
     ?_assert(refused(<<"ftp://bots.example/">>)),
     ?_assert(refused(<<"/relative">>)),
     ?_assert(refused(<<"http://">>))].

%% econf:fail/1 raises whatever yconf raises; what matters is that the URL is not accepted.
refused(Url) ->
    try mod_rest_webhook:validate_url(Url) of
        _ -> false
    catch _:_ -> true
    end.
