%% SPDX-License-Identifier: GPL-2.0-or-later
%%% EUnit tests of mod_rest_idempotency's pure parts: the key as sent, the fingerprint, what is
%%% kept, and which keys the bounds forget.
-module(mod_rest_idempotency_tests).
-include_lib("eunit/include/eunit.hrl").

parse_key_test() ->
    ?assertEqual({ok, <<"8e03978e-40d5-43e8-bc93-6894a57f9324">>},
                 mod_rest_idempotency:parse_key(<<"\"8e03978e-40d5-43e8-bc93-6894a57f9324\"">>)),
    ?assertEqual({ok, <<"abc">>}, mod_rest_idempotency:parse_key(<<" abc ">>)),          % bare token
    ?assertEqual({ok, <<"abc">>}, mod_rest_idempotency:parse_key(<<"\t abc\t ">>)),
    ?assertEqual({ok, <<"a">>}, mod_rest_idempotency:parse_key(<<"\"a\"">>)),
    ?assertEqual({ok, binary:copy(<<"k">>, 255)}, mod_rest_idempotency:parse_key(binary:copy(<<"k">>, 255))),
    [?assertEqual(error, mod_rest_idempotency:parse_key(V))
     || V <- [<<>>, <<" \t ">>, <<"\"\"">>, <<"\"">>, <<"\"abc">>, <<"a b">>, <<"a\"b">>, <<"caf", 195, 169>>,
              binary:copy(<<"k">>, 256), <<"a\tb">>]].

fingerprint_test() ->
    F = fun mod_rest_idempotency:fingerprint/3,
    Base = F(<<"POST">>, [], <<"<message/>">>),
    ?assertEqual(32, byte_size(Base)),
    ?assertEqual(Base, F(<<"POST">>, [], <<"<message/>">>)),
    ?assertNotEqual(Base, F(<<"POST">>, [], <<"<message/> ">>)),               % the body
    ?assertNotEqual(Base, F(<<"POST">>, [<<"echo">>], <<"<message/>">>)),       % the path
    ?assertNotEqual(Base, F(<<"PUT">>, [], <<"<message/>">>)),                   % the method
    %% Behind a secret: not the plain hash of what was sent, which could be guessed back.
    ?assertNotEqual(Base, crypto:hash(sha256, [<<"POST">>, 0, <<>>, 0, <<"<message/>">>])),
    ?assertNotEqual(Base, crypto:hash(sha256, [0, <<"POST">>, 0, <<>>, 0, <<"<message/>">>])),
    %% Segments are told apart from the body: no two requests share their bytes.
    ?assertNotEqual(F(<<"POST">>, [<<"a">>], <<"b">>), F(<<"POST">>, [], <<"a", 0, "b">>)).

keepable_test() ->
    A = fun(Status) -> {Status, <<"R">>, [], <<>>} end,
    ?assert(mod_rest_idempotency:keepable({done, A(200)})),
    ?assert(mod_rest_idempotency:keepable({done, A(202)})),
    ?assert(mod_rest_idempotency:keepable({done, A(403)})),     % a refusal stays a refusal
    ?assert(mod_rest_idempotency:keepable({done, A(504)})),     % an iq sent and not answered
    ?assertNot(mod_rest_idempotency:keepable({done, A(401)})),  % credentials refused: nothing done
    ?assertNot(mod_rest_idempotency:keepable({done, A(429)})),
    ?assertNot(mod_rest_idempotency:keepable({done, A(503)})),
    ?assertNot(mod_rest_idempotency:keepable({nothing_done, A(504)})).   % the worker's timeout

entry_bytes_test() ->
    Answer = {202, <<"Accepted">>, [{<<"X-Stanza-Id">>, <<"abc">>}], [<<"12">>, <<"345">>]},
    ?assertEqual(256 + 3 + 5 + 11 + 3, mod_rest_idempotency:entry_bytes(<<"key">>, Answer)).

%% {Id, Created, Expires, Bytes, Done}
evictable_test() ->
    Now = 1000,
    E = fun(Id, Created, Done) -> {Id, Created, Now + 500, 100, Done} end,
    Expired = {old, 0, Now, 100, true},
    %% Within the bounds: only the expired go.
    ?assertEqual({[old], []}, mod_rest_idempotency:evictable([Expired, E(a, 10, true)], Now, 10, 10000)),
    %% Past 9 keys (90% of 10): the oldest finished go first, down to 8 (80%); pending ones stay.
    Live = [E(N, N, N =/= 1) || N <- lists:seq(1, 12)],
    {[], Evicted} = mod_rest_idempotency:evictable(Live, Now, 10, 1000000),
    ?assertEqual([2, 3, 4, 5], Evicted),
    %% Past 90% of the bytes (12 x 100 > 900 of 1000): down to 800 bytes, oldest first.
    {[], ByBytes} = mod_rest_idempotency:evictable(Live, Now, 100, 1000),
    ?assertEqual([2, 3, 4, 5], ByBytes),
    %% At 90% exactly (9 of 10, 1200 of 1334 bytes): nothing yet.
    ?assertEqual({[], []}, mod_rest_idempotency:evictable(lists:sublist(Live, 9), Now, 10, 1334)),
    %% Nothing to forget when every live key is in flight.
    ?assertEqual({[], []}, mod_rest_idempotency:evictable([E(N, N, false) || N <- lists:seq(1, 5)], Now, 2, 1000000)).
