%% SPDX-License-Identifier: GPL-2.0-or-later
%%% Golden frames shared with the TypeScript tests (test/unit/frames.test.ts), so both sides
%%% are held to the same bytes:
%%%  - to-worker-*.etf are Erlang's own term_to_binary output, in both atom encodings
%%%    (v1: OTP 25 and older; v2: OTP 26+); the worker must decode them.
%%%  - from-worker-*.etf are the worker's encoder output; Erlang must decode them, safely,
%%%    and they must be exactly Erlang's own bytes for the same term.
%%% UPDATE_GOLDEN=1 rewrites the to-worker files (mocha rewrites the from-worker ones).
-module(mod_rest_frames_tests).
-include_lib("eunit/include/eunit.hrl").

dir() -> filename:join([filename:dirname(?FILE), "..", "fixtures", "etf"]).

to_worker() ->
    [{"request-post",
      {request, 42, #{method => <<"POST">>, path => [],
                      body => <<"<message to='nolan@localhost' from='localhost/rest'><body>World</body></message>">>,
                      ip => <<"127.0.0.1">>, host => <<"localhost">>}}},
     {"request-get-subpath",
      {request, 16#7fffffff, #{method => <<"GET">>, path => [<<"x">>, <<"y">>], body => <<>>,
                               ip => <<"::ffff:127.0.0.1">>, host => <<"localhost">>}}},
     {"request-raw-bytes",
      {request, 300, #{method => <<"POST">>, path => [], body => <<"caf", 16#c3, 16#a9, " ", 255, 0>>,
                       ip => <<"::1">>, host => <<"example.org">>}}},
     {"config",
      {config, <<"localhost">>, #{allowed_ips => [<<"127.0.0.1/32">>, <<"::1/128">>],
                                  allowed_destinations => [<<"nolan@localhost">>],
                                  allowed_stanza_types => []}}},
     {"config-depth",
      {config, <<"example.org">>, #{allowed_ips => [], allowed_destinations => [],
                                    allowed_stanza_types => [<<"message">>, <<"iq">>],
                                    max_xml_depth => 300}}},
     {"request-browser",
      {request, 9, #{method => <<"OPTIONS">>, path => [], body => <<>>, ip => <<"127.0.0.1">>,
                     host => <<"localhost">>, origin => <<"https://desk.example.com">>,
                     fetch_site => <<"cross-site">>, own_origin => <<"http://localhost:5280">>,
                     auth_scheme => <<"bearer">>}}},
     {"config-origins",
      {config, <<"localhost">>, #{allowed_ips => [], allowed_destinations => [],
                                  allowed_stanza_types => [], allowed_origins => all,
                                  api_allowed_origins => [<<"https://desk.example.com">>]}}},
     {"render-browser",
      {render, 12, #{host => <<"localhost">>, error => <<"IDEMPOTENCY_KEY_IN_FLIGHT">>, status => 409,
                     accept => <<"application/json">>, origin => <<"https://desk.example.com">>,
                     fetch_site => <<"cross-site">>, own_origin => <<"http://localhost:5280">>,
                     auth_scheme => <<"bearer">>}}},
     {"forget", {forget, <<"localhost">>}},
     {"log-level", {log_level, warning}}].

from_worker() ->
    [{"hello", {hello, 1}},
     {"reply-route",
      {reply, 42, {route, {xmlel, <<"message">>,
                           [{<<"to">>, <<"nolan@localhost">>}, {<<"from">>, <<"localhost/rest">>},
                            {<<"xmlns">>, <<"jabber:client">>}],
                           [{xmlel, <<"body">>, [], [{xmlcdata, <<"h\x{e9}llo \x{1F600}"/utf8>>}]}]}}}},
     {"reply-command-auth",
      {reply, 7, {command, <<"register">>, [<<"bob">>, <<"localhost">>, <<"a b">>],
                  {<<"admin">>, <<"localhost">>, <<"secret">>}}}},
     {"reply-command-noauth", {reply, 8, {command, <<"status">>, [], none}}},
     {"reply-answer",
      {reply, 16#7fffffff, {answer, 406, <<"Error: REST request is rejected by service.">>}}},
     {"reply-with-headers",
      {reply, 10, {with_headers, [{<<"Access-Control-Allow-Origin">>, <<"https://desk.example.com">>},
                                  {<<"Vary">>, <<"Origin">>}],
                   {answer, 204, <<>>}}}},
     {"reply-send-batch",
      {reply, 11, {send_batch, [{send, {xmlel, <<"message">>, [{<<"to">>, <<"bob@localhost">>}, {<<"id">>, <<"b1">>}], []}},
                                {refused, 422, <<"BATCH_IQ">>}]}}},
     {"log", {log, warning, <<"option entry ignored host=\"localhost\"">>}}].

file(Name) -> filename:join(dir(), Name ++ ".etf").

to_worker_test_() ->
    [{Name ++ " (" ++ V ++ ") is what term_to_binary produces",
      fun() ->
              Bin = term_to_binary(Term, [{minor_version, Minor}]),
              File = file("to-worker-" ++ Name ++ "-" ++ V),
              case os:getenv("UPDATE_GOLDEN") of
                  "1" -> ok = file:write_file(File, Bin);
                  _ -> ok
              end,
              {ok, Golden} = file:read_file(File),
              ?assertEqual(Golden, Bin)
      end}
     || {Name, Term} <- to_worker(), {V, Minor} <- [{"v1", 1}, {"v2", 2}]].

from_worker_test_() ->
    [{Name ++ " from the worker decodes safely to the expected term",
      fun() ->
              {ok, Golden} = file:read_file(file("from-worker-" ++ Name)),
              ?assertEqual(Term, binary_to_term(Golden, [safe]))
      end}
     || {Name, Term} <- from_worker()]
    ++ [{Name ++ " from the worker is byte for byte what term_to_binary writes (OTP 26+ atoms)",
         fun() ->
                 {ok, Golden} = file:read_file(file("from-worker-" ++ Name)),
                 ?assertEqual(term_to_binary(Term, [{minor_version, 2}]), Golden)
         end}
        || {Name, Term} <- from_worker()].
