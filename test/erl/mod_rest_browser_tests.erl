%% SPDX-License-Identifier: GPL-2.0-or-later
%% EUnit: what mod_rest_browser reads of a request for the worker's browser stage.
-module(mod_rest_browser_tests).
-include_lib("eunit/include/eunit.hrl").
-include("ejabberd_http.hrl").

browser_request() ->
    #request{tp = https,
             headers = [{'Host', <<"xmpp.example.com:5443">>}, {<<"origin">>, <<"https://desk.example.com">>},
                        {<<"Sec-Fetch-Site">>, <<"cross-site">>}, {<<"Sec-Fetch-Mode">>, <<"cors">>}]}.

reads_the_headers_browsers_set_test() ->
    ?assertEqual(#{origin => <<"https://desk.example.com">>, fetch_site => <<"cross-site">>,
                   own_origin => <<"https://xmpp.example.com:5443">>, auth_scheme => <<"bearer">>},
                 mod_rest_browser:request_fields(browser_request(), {bearer, <<"t">>})),
    ?assertEqual(<<"basic">>, maps:get(auth_scheme, mod_rest_browser:request_fields(browser_request(), {basic, <<"u">>, <<"p">>}))).

%% Neither Origin nor Sec-Fetch-Site: no browser's cross-origin request, nothing to send.
a_client_that_is_no_browser_sends_nothing_of_it_test() ->
    ?assertEqual(#{}, mod_rest_browser:request_fields(#request{tp = http, headers = [{'Host', <<"127.0.0.1:5280">>},
                                                                                   {<<"Originator">>, <<"x">>}]},
                                                      {basic, <<"u">>, <<"p">>})),
    ?assertEqual(#{}, mod_rest_browser:request_fields(#request{tp = http, headers = []}, none)).

either_header_is_enough_test() ->
    Host = {'Host', <<"127.0.0.1:5280">>},
    ?assertEqual(#{fetch_site => <<"same-origin">>, own_origin => <<"http://127.0.0.1:5280">>},
                 mod_rest_browser:request_fields(#request{tp = http, headers = [Host, {<<"sec-fetch-site">>, <<"same-origin">>}]}, none)),
    %% The first Origin is the one read, whatever the case of its name.
    ?assertEqual(#{origin => <<"null">>, own_origin => <<"http://127.0.0.1:5280">>, auth_scheme => <<"basic">>},
                 mod_rest_browser:request_fields(#request{tp = http, headers = [{<<"ORIGIN">>, <<"null">>}, Host,
                                                                                {<<"Origin">>, <<"https://b">>}]},
                                                 {basic, <<"u">>, <<"p">>})).

validates_origins_as_browsers_send_them_test() ->
    V = mod_rest_browser:origins_opt_type(),
    ?assertEqual({ok, all}, yconf:validate(V, all)),
    ?assertEqual({ok, [<<"https://desk.example.com">>, <<"http://127.0.0.1:8080">>]},
                 yconf:validate(V, [<<"https://desk.example.com">>, <<"http://127.0.0.1:8080">>])),
    [?assertMatch({error, _, _}, yconf:validate(V, [Bad]))
     || Bad <- [<<"null">>, <<"https://desk.example.com/">>, <<"desk.example.com">>, <<"https://a b">>]].
