%% SPDX-License-Identifier: GPL-2.0-or-later
%%% EUnit tests of the pure parts of the port owner.
-module(mod_rest_port_tests).
-include_lib("eunit/include/eunit.hrl").

restart_delay_test_() ->
    [{"the backoff doubles", ?_assertEqual(200, mod_rest_port:restart_delay(100))},
     {"and stops at 10 s", ?_assertEqual(10000, mod_rest_port:restart_delay(8000))},
     {"and stays there", ?_assertEqual(10000, mod_rest_port:restart_delay(10000))}].

log_level_test_() ->
    [?_assertEqual(Want, mod_rest_port:log_level(Level))
     || {Level, Want} <- [{debug, debug}, {info, info}, {notice, info}, {warning, warning},
                          {error, error}, {critical, error}, {alert, error},
                          {emergency, error}, {none, error}]].

batch_frame_test_() ->
    Requests = [{request, I, #{method => <<"POST">>, path => [], body => binary:copy(<<"x">>, I * 40),
                              ip => <<"127.0.0.1">>, host => <<"localhost">>}}
                || I <- lists:seq(1, 5)],
    Frames = [term_to_binary(R) || R <- Requests],
    [{"a lone frame goes out as it is",
      ?_assertEqual(hd(Frames), iolist_to_binary(mod_rest_port:batch_frame([hd(Frames)])))},
     {"several frames make exactly the external format of their list",
      ?_assertEqual(term_to_binary(Requests), iolist_to_binary(mod_rest_port:batch_frame(Frames)))},
     {"which decodes to the requests, in order",
      ?_assertEqual(Requests, binary_to_term(iolist_to_binary(mod_rest_port:batch_frame(Frames)), [safe]))}].
