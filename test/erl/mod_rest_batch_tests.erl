%% SPDX-License-Identifier: GPL-2.0-or-later
%% The batch's answer, written in the VM (mod_rest_batch:answer_json/1): valid JSON whatever the
%% ids hold, one result per item in order.
-module(mod_rest_batch_tests).
-include_lib("eunit/include/eunit.hrl").

answer_json_test() ->
    ?assertEqual(<<"{\"sent\":1,\"refused\":1,\"results\":[{\"status\":202,\"id\":\"a1\"},"
                   "{\"status\":403,\"error\":\"FROM_NOT_ACCOUNT\"}]}">>,
                 mod_rest_batch:answer_json([{sent, <<"a1">>}, {refused, 403, <<"FROM_NOT_ACCOUNT">>}])).

answer_json_empty_test() ->
    ?assertEqual(<<"{\"sent\":0,\"refused\":0,\"results\":[]}">>, mod_rest_batch:answer_json([])).

%% A client's id can hold anything XML allows: quotes, backslashes, controls, non-ASCII.
answer_json_escapes_ids_test() ->
    Id = <<"q\"b\\t\tn\n", 16#e2, 16#82, 16#ac>>,
    Json = mod_rest_batch:answer_json([{sent, Id}]),
    ?assertEqual(<<"{\"sent\":1,\"refused\":0,\"results\":[{\"status\":202,\"id\":\"q\\\"b\\\\t\\u0009n\\u000a",
                   16#e2, 16#82, 16#ac, "\"}]}">>, Json).

%% A batch is told from one stanza as the worker tells it (src/rest/batch.ts isBatchRequest).
shape_test_() ->
    Json = [{'Content-Type', <<"application/json; charset=utf-8">>}],
    [?_assertEqual(batch, mod_rest_batch:shape(true, [], 'POST', Json, <<" \r\n[{}]">>)),
     ?_assertEqual(true, mod_rest_batch:shape(true, [], 'POST', Json, <<"{}">>)),
     ?_assertEqual(batch, mod_rest_batch:shape(true, [], 'POST', [{'Content-Type', <<"Application/X-NDJSON">>}], <<"{}">>)),
     ?_assertEqual(batch, mod_rest_batch:shape(true, [], 'POST', [{'Content-Type', <<"application/vnd.mod-rest.stanzas+xml">>}], <<"<a/>">>)),
     ?_assertEqual(true, mod_rest_batch:shape(true, [<<"echo">>], 'POST', Json, <<"[]">>)),
     ?_assertEqual(true, mod_rest_batch:shape(true, [], 'GET', Json, <<"[]">>)),
     ?_assertEqual(true, mod_rest_batch:shape(true, [], 'POST', [], <<"[]">>)),
     ?_assertEqual(false, mod_rest_batch:shape(false, [], 'POST', Json, <<"[]">>))].
