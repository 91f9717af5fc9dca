%%% EUnit tests of the pure parts of command handling.
-module(mod_rest_command_tests).
-include_lib("eunit/include/eunit.hrl").

rules_for_test_() ->
    Access = [{restaccess, [registered_users, connected_users]},
              {admins, all},
              {other, [register]}],
    [{"a rule applies to the commands it lists",
      ?_assertEqual([restaccess, admins], mod_rest_command:rules_for(<<"registered_users">>, Access))},
     {"dashes in the requested name count as underscores, as in ejabberdctl",
      ?_assertEqual([restaccess, admins], mod_rest_command:rules_for(<<"registered-users">>, Access))},
     {"an `all` rule governs every command, even unknown ones",
      ?_assertEqual([admins], mod_rest_command:rules_for(<<"no_such_command_xyz">>, Access))},
     {"a command no rule lists is governed by none",
      ?_assertEqual([], mod_rest_command:rules_for(<<"stop">>, [{restaccess, [status]}]))}].

rules_for_creates_no_atoms_test() ->
    Before = erlang:system_info(atom_count),
    Names = [<<"never_an_atom_", (integer_to_binary(N))/binary>> || N <- lists:seq(1, 500)],
    [mod_rest_command:rules_for(N, [{restaccess, [status]}]) || N <- Names],
    ?assertEqual(Before, erlang:system_info(atom_count)).

exit_status_test_() ->
    [?_assertEqual(200, mod_rest_command:exit_status(0)),
     ?_assertEqual(422, mod_rest_command:exit_status(1)),
     ?_assertEqual(422, mod_rest_command:exit_status(3))].

arity_error_test_() ->
    [{"the right count is fine", ?_assertEqual(ok, mod_rest_command:arity_error(<<"register">>, 3, 3))},
     {"too few arguments, in ejabberdctl's words",
      ?_assertEqual(<<"Error: the command 'register' requires 2 more argument.">>,
                    mod_rest_command:arity_error(<<"register">>, 3, 1))},
     {"too many arguments",
      ?_assertEqual(<<"Error: the command 'status' requires 1 less argument.">>,
                    mod_rest_command:arity_error(<<"status">>, 0, 1))}].

output_to_binary_test_() ->
    [{"UTF-8 bytes, as process2 prints binaries, are kept as they are",
      ?_assertEqual(<<"User zo\x{eb}@localhost successfully registered"/utf8>>,
                    mod_rest_command:output_to_binary(
                      binary_to_list(<<"User zo\x{eb}@localhost successfully registered"/utf8>>)))},
     {"code points beyond 255 are encoded as UTF-8",
      ?_assertEqual(<<"j\x{f6}rg \x{263a}"/utf8>>, mod_rest_command:output_to_binary("j\x{f6}rg \x{263a}"))},
     {"deep lists are flattened",
      ?_assertEqual(<<"a\nb">>, mod_rest_command:output_to_binary(["a", ["\n", "b"]]))}].

suggest_matches_misc_best_match_test() ->
    Known = [registered_users, register, unregister, dump, connected_users, connected_users_number,
             status, stop, restart, reload_config, gc, backup, restore, set_loglevel, send_message],
    Names = [<<"bogus_cmd">>, <<"registered-users">>, <<"regster">>, <<"x">>, <<"stat">>,
             <<"zz_0123456789abcdef">>, <<"send_mesage">>, <<"connected">>, <<"">>, <<"gcc">>,
             <<"sta\x{e9}tus"/utf8>>, <<"restart_all_the_things">>],
    [?assertEqual({Name, misc:best_match(Name, Known)}, {Name, mod_rest_command:suggest(Name, Known)})
     || Name <- Names],
    Rand = [list_to_binary([$a + rand:uniform(26) - 1 || _ <- lists:seq(1, rand:uniform(20))])
            || _ <- lists:seq(1, 300)],
    [?assertEqual({Name, misc:best_match(Name, Known)}, {Name, mod_rest_command:suggest(Name, Known)})
     || Name <- Rand].

suggest_is_quick_on_a_long_name_test() ->
    %% Over only a prefix: answers for a megabyte name as for its first 48 bytes.
    Long = binary:copy(<<"q">>, 1 bsl 20),
    ?assertEqual(mod_rest_command:suggest(binary:part(Long, 0, 48), [status, stop]),
                 mod_rest_command:suggest(Long, [status, stop])).
