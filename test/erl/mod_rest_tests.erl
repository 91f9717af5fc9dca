%% SPDX-License-Identifier: GPL-2.0-or-later
%%% EUnit tests of the pure parts of the Erlang stub.
-module(mod_rest_tests).
-include_lib("eunit/include/eunit.hrl").

loaded(Hosts) -> fun(H) -> lists:member(H, Hosts) end.

%% jid and stringprep are NIFs that their applications load.
stringprep() -> {ok, _} = application:ensure_all_started(xmpp).

choose_host_test_() ->
    Hosts = [<<"localhost">>, <<"example.org">>, <<"other.net">>],
    Runs = loaded([<<"example.org">>, <<"other.net">>]),
    {setup, fun stringprep/0,
    [{"a Host header naming a vhost that runs mod_rest picks that vhost",
      ?_assertEqual(<<"other.net">>, mod_rest:choose_host(<<"other.net">>, Hosts, Runs))},
     {"the Host header is compared case-insensitively (nameprep)",
      ?_assertEqual(<<"other.net">>, mod_rest:choose_host(<<"OTHER.Net">>, Hosts, Runs))},
     {"an IP address as Host falls back to the first vhost, in hosts order, that runs mod_rest",
      ?_assertEqual(<<"example.org">>, mod_rest:choose_host(<<"127.0.0.1">>, Hosts, Runs))},
     {"a served vhost where mod_rest does not run also falls back",
      ?_assertEqual(<<"example.org">>, mod_rest:choose_host(<<"localhost">>, Hosts, Runs))},
     {"a Host header that nameprep refuses falls back instead of crashing",
      ?_assertEqual(<<"example.org">>, mod_rest:choose_host(<<"bad host\x{0}">>, Hosts, Runs))},
     {"no vhost running mod_rest gives undefined",
      ?_assertEqual(undefined, mod_rest:choose_host(<<"localhost">>, Hosts, loaded([])))}]}.

port_error_answer_test_() ->
    [{"a timeout answers 504",
      ?_assertMatch({504, _, _, <<"Error: ", _/binary>>}, mod_rest:port_error_answer(timeout))},
     [{"worker trouble (" ++ atom_to_list(Why) ++ ") answers 503 with Retry-After, saying nothing was done",
       fun() ->
               {503, _, [{<<"Retry-After">>, <<"1">>} | _], Body} = mod_rest:port_error_answer(Why),
               ?assertMatch({match, _}, re:run(Body, <<"^Error: .*nothing was done, try again\\.$">>))
       end}
      || Why <- [busy, overloaded, unavailable, worker_died, garbled]]].

worker_policy_test() ->
    stringprep(),
    Opts = #{allowed_ips => [{{127, 0, 0, 1}, 32}, {{0, 0, 0, 0, 0, 0, 0, 1}, 128}, {{10, 0, 0, 0}, 8}],
             api_allowed_ips => [{{192, 0, 2, 0}, 24}],
             allowed_destinations => [jid:decode(<<"Nolan@LocalHost/Phone">>), jid:decode(<<"a@b">>)],
             allowed_stanza_types => [message, iq], max_xml_depth => 64,
             max_xml_elements => 500, max_command_args => 9,
             max_command_size => 4096, api_max_stanza_size => 8192, api_max_batch_items => 7, api_max_batch_size => 65536,
             allowed_senders => [jid:decode(<<"LocalHost">>), jid:decode(<<"Bot@localhost/R">>)],
             allowed_origins => [], api_allowed_origins => [<<"https://desk.example.com">>]},
    ?assertEqual(#{allowed_origins => [], api_allowed_origins => [<<"https://desk.example.com">>],
                   allowed_ips => [<<"127.0.0.1/32">>, <<"::1/128">>, <<"10.0.0.0/8">>],
                   api_allowed_ips => [<<"192.0.2.0/24">>],
                   allowed_destinations => [<<"nolan@localhost/Phone">>, <<"a@b">>],
                   allowed_stanza_types => [<<"message">>, <<"iq">>], max_xml_depth => 64,
                   max_xml_elements => 500, max_command_args => 9,
                   max_command_size => 4096, api_max_stanza_size => 8192, api_max_batch_items => 7, api_max_batch_size => 65536,
                   allowed_senders => [<<"localhost">>, <<"bot@localhost/R">>]},
                 mod_rest:worker_policy(Opts)).

worker_policy_all_is_empty_test() ->
    ?assertEqual(#{allowed_ips => [], api_allowed_ips => [], allowed_destinations => [], allowed_stanza_types => [],
                   max_xml_depth => 256, allowed_senders => all,
                   %% Unlike the lists above, `all` passes as it is: [] lists no origin.
                   allowed_origins => all, api_allowed_origins => all,
                   max_xml_elements => 10000, max_command_args => 256,
                   max_command_size => 262144, api_max_stanza_size => 262144, api_max_batch_items => 1000, api_max_batch_size => 262144},
                 mod_rest:worker_policy(#{allowed_ips => all, api_allowed_ips => all, allowed_destinations => all,
                                          allowed_stanza_types => all, max_xml_depth => 256,
                                          allowed_senders => all, max_xml_elements => 10000,
                                          max_command_args => 256, max_command_size => 262144,
                                          api_max_stanza_size => 262144, api_max_batch_items => 1000, api_max_batch_size => 262144, allowed_origins => all,
                                          api_allowed_origins => all})).

%% allowed_senders is the one list where [] does not mean "any": it admits nobody.
worker_policy_no_senders_test() ->
    ?assertMatch(#{allowed_senders := []},
                 mod_rest:worker_policy(#{allowed_ips => all, api_allowed_ips => all, allowed_destinations => all,
                                          allowed_stanza_types => all, max_xml_depth => 256,
                                          allowed_senders => [], max_xml_elements => 1,
                                          max_command_args => 1, max_command_size => 1,
                                          api_max_stanza_size => 1, api_max_batch_items => 1, api_max_batch_size => 1, allowed_origins => [],
                                          api_allowed_origins => []})).

xff_trusted_test_() ->
    Local = [{{127, 0, 0, 1}, 32}],
    [{"a client behind a trusted proxy is believed",
      ?_assert(mod_rest:xff_trusted(<<"10.1.2.3">>, {127, 0, 0, 1}, Local))},
     {"a client's own header, forwarded by the trusted proxy, names an untrusted hop: refused",
      ?_assertNot(mod_rest:xff_trusted(<<"1.1.1.1, 203.0.113.5">>, {127, 0, 0, 1}, Local))},
     {"a peer that is not a trusted proxy is never believed",
      ?_assertNot(mod_rest:xff_trusted(<<"10.1.2.3">>, {192, 0, 2, 9}, Local))},
     {"no trusted_proxies: never",
      ?_assertNot(mod_rest:xff_trusted(<<"10.1.2.3">>, {127, 0, 0, 1}, []))},
     {"trusted_proxies: all",
      ?_assert(mod_rest:xff_trusted(<<"10.1.2.3, 198.51.100.1">>, {192, 0, 2, 9}, all))},
     {"an empty header",
      ?_assertNot(mod_rest:xff_trusted(<<" , ">>, {127, 0, 0, 1}, Local))},
     {"garbage as a hop is not trusted",
      ?_assertNot(mod_rest:xff_trusted(<<"10.1.2.3, garbage">>, {127, 0, 0, 1}, Local))}].
