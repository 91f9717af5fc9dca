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
