%% SPDX-License-Identifier: GPL-2.0-or-later
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
    Zoe = <<"User zo\x{eb}@localhost successfully registered"/utf8>>,
    [{"UTF-8 bytes (binaries printed with ~s, and before 24.06) are kept as they are",
      ?_assertEqual(Zoe, mod_rest_command:output_to_binary(binary_to_list(Zoe)))},
     {"characters (~ts, 24.06 and later) are encoded as UTF-8: zo\xeb never goes out as Latin-1",
      ?_assertEqual(Zoe, mod_rest_command:output_to_binary(unicode:characters_to_list(Zoe)))},
     {"code points beyond 255 are encoded as UTF-8",
      ?_assertEqual(<<"j\x{f6}rg \x{263a}"/utf8>>, mod_rest_command:output_to_binary("j\x{f6}rg \x{263a}"))},
     {"each line on its own: bytes on one, characters on the next",
      ?_assertEqual(<<"zo\x{eb}\nzo\x{eb}\nplain"/utf8>>,
                    mod_rest_command:output_to_binary(
                      [binary_to_list(<<"zo\x{eb}"/utf8>>), "\n", [$z, $o, 16#eb], "\nplain"]))},
     {"deep lists are flattened",
      ?_assertEqual(<<"a\nb">>, mod_rest_command:output_to_binary(["a", ["\n", "b"]]))}].

failure_answer_test_() ->
    Line = fun(Output) -> mod_rest_command:failure_answer(get_roster, Output, 1, [<<"s3cret">>]) end,
    [{"26.07's api_permissions refusal is a 403 in words",
      ?_assertMatch({403, <<"Error: ejabberd's api_permissions do not allow", _/binary>>},
                    Line(<<"{error,access_rules_unauthorized}">>))},
     {"an internal command is an unknown one",
      ?_assertMatch({400, <<"Error: unknown command 'get_roster'.">>},
                    Line(<<"{error,frontend_cannot_call_an_internal_command}">>))},
     {"a crash inside ejabberd is one line, no stack trace, no path",
      ?_assertEqual({500, <<"Error: the command 'get_roster' failed inside ejabberd; ejabberd's log has the details.">>},
                    Line(<<"Unhandled exception occurred executing the command:\n** error:undef\n"
                           "   in /usr/lib/x.erl, line 4 s3cret">>))},
     {"any other Erlang term is not shown either",
      ?_assertMatch({500, <<"Error: the command 'get_roster' failed inside", _/binary>>},
                    Line(<<"{badmatch,{error,enoent}}">>))},
     {"a command's own failure message is kept, with ejabberdctl's exit code as 422",
      ?_assertEqual({422, <<"User bob@localhost already registered">>},
                    Line(<<"User bob@localhost already registered">>))}].

secrets_test_() ->
    Format = [{user, binary}, {host, binary}, {newpass, binary}],
    [{"the --auth password and arguments named as passwords are secrets",
      ?_assertEqual([<<"authpw">>, <<"np">>],
                    mod_rest_command:secrets(Format, [<<"u">>, <<"h">>, <<"np">>], {<<"a">>, <<"h">>, <<"authpw">>}))},
     {"and they are replaced in a log line",
      ?_assertEqual(<<"x ****** y ******">>, mod_rest_command:redact(<<"x authpw y np">>, [<<"authpw">>, <<"np">>]))},
     {"a log line stays one line",
      ?_assertEqual(<<"a\\nb\\r\\nc">>, mod_rest_command:redact(<<"a\nb\r\nc">>, []))}].

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

quoted_test_() ->
    [{"a short name is shown as it is",
      ?_assertEqual(<<"bogus_cmd">>, mod_rest_command:quoted(<<"bogus_cmd">>))},
     {"line breaks and other control characters are escaped: no forged log line",
      ?_assertEqual(<<"x\\x0a2026 [critical] y\\x0d\\x1b">>,
                    mod_rest_command:quoted(<<"x\n2026 [critical] y\r\e">>))},
     {"non-ASCII characters are kept",
      ?_assertEqual(<<"sta\x{e9}tus"/utf8>>, mod_rest_command:quoted(<<"sta\x{e9}tus"/utf8>>))},
     {"a long name is cut at 64 characters, wherever its bytes fall",
      ?_assertEqual(<<"a", (binary:copy(<<"\x{e9}"/utf8>>, 63))/binary, "...">>,
                    mod_rest_command:quoted(<<"a", (binary:copy(<<"\x{e9}"/utf8>>, 300))/binary>>))},
     {"a long name is cut at 64 characters",
      ?_assertEqual(<<(binary:copy(<<"\x{e9}"/utf8>>, 64))/binary, "..."/utf8>>,
                    mod_rest_command:quoted(binary:copy(<<"\x{e9}"/utf8>>, 100000)))}].
