%% SPDX-License-Identifier: GPL-2.0-or-later
-module(mod_rest_bounds_tests).
-include_lib("eunit/include/eunit.hrl").

opts() -> #{api_max_stanza_size => 10, max_command_size => 5}.

api_bodies_are_bounded_by_api_max_stanza_size_test() ->
    ?assertEqual(ok, mod_rest_bounds:check(<<"0123456789">>, true, opts())),
    ?assertEqual({too_large, <<"STANZA_TOO_LARGE">>}, mod_rest_bounds:check(<<"0123456789a">>, true, opts())).

legacy_command_lines_are_bounded_by_max_command_size_test() ->
    ?assertEqual(ok, mod_rest_bounds:check(<<"stats">>, false, opts())),
    ?assertEqual({too_large, <<"COMMAND_TOO_LONG">>}, mod_rest_bounds:check(<<"status">>, false, opts())).

legacy_stanzas_keep_max_body_size_test() ->
    ?assertEqual(ok, mod_rest_bounds:check(<<"\xEF\xBB\xBF \n<message/>">>, false, opts())).

what_is_the_api_test() ->
    ?assert(mod_rest_bounds:is_api([], true, [])),
    ?assert(mod_rest_bounds:is_api([<<"echo">>], false, [])),
    ?assert(mod_rest_bounds:is_api([], false, [{'Content-Type', <<"Application/JSON; charset=utf-8">>}])),
    ?assert(mod_rest_bounds:is_api([], false, [{'Content-Type', <<"application/xmpp+xml">>}])),
    ?assertNot(mod_rest_bounds:is_api([], false, [{'Content-Type', <<"application/x-www-form-urlencoded">>}])),
    ?assertNot(mod_rest_bounds:is_api([], false, [])).

looks_like_xml_test() ->
    ?assert(mod_rest_bounds:looks_like_xml(<<" \t\r\n<a/>">>)),
    ?assert(mod_rest_bounds:looks_like_xml(<<16#EF, 16#BB, 16#BF, "<a/>">>)),
    ?assertNot(mod_rest_bounds:looks_like_xml(<<"registered_users <x>">>)),
    ?assertNot(mod_rest_bounds:looks_like_xml(<<>>)).
