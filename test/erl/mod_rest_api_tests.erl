%% SPDX-License-Identifier: GPL-2.0-or-later
-module(mod_rest_api_tests).
-include_lib("eunit/include/eunit.hrl").

%% ejabberd_http passes the headers it knows as atoms ('Host'), the others as sent.
header_values_test() ->
    Headers = [{'Host', <<"localhost">>}, {<<"Idempotency-Key">>, <<"a">>},
               {<<"IDEMPOTENCY-KEY">>, <<"b">>}, {<<"Idempotency-Kez">>, <<"c">>},
               {<<"Idempotency-Key-2">>, <<"d">>}, {<<"Origin">>, <<"https://x">>}],
    ?assertEqual([<<"a">>, <<"b">>], mod_rest_api:header_values(<<"idempotency-key">>, Headers)),
    ?assertEqual([<<"https://x">>], mod_rest_api:header_values(<<"origin">>, Headers)),
    ?assertEqual([], mod_rest_api:header_values(<<"sec-fetch-site">>, Headers)).
