%% SPDX-License-Identifier: GPL-2.0-or-later
%%% EUnit tests of mod_rest_idempotency's pure parts: the key as sent, the fingerprint, what is
%%% kept, and which keys the bounds forget; and the claim on a node alone, on an ETS table named
%%% as Mnesia's copy, by many processes at once.
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

%% A row of the table, field by field as -record(rest_idempotency) in mod_rest_idempotency.erl.
row(Key, Fingerprint, State, Answer, Bytes, Expires) ->
    {rest_idempotency, {<<"localhost">>, {address, {127, 0, 0, 1}}, Key}, Fingerprint, State, Answer,
     Bytes, 1000, Expires}.

pending(Key, Fingerprint, Owner) -> row(Key, Fingerprint, {pending, Owner}, undefined, 0, 100000).

with_table(Test) ->
    Tab = ets:new(mod_rest_idempotency, [named_table, public, set, {keypos, 2}]),
    try Test() after ets:delete(Tab) end.

claim_alone_test() ->
    with_table(
      fun() ->
              Answer = {200, <<"OK">>, [], <<"Ok">>},
              {Dead, Ref} = spawn_monitor(fun() -> ok end),
              receive {'DOWN', Ref, process, Dead, _} -> ok end,
              Alive = spawn(fun() -> receive stop -> ok end end),
              ?assertEqual({claimed, none}, mod_rest_idempotency:claim_alone(pending(<<"a">>, <<"f">>, self()), 3)),
              ?assertEqual(in_flight, mod_rest_idempotency:claim_alone(pending(<<"a">>, <<"f">>, Alive), 3)),
              ?assertEqual(mismatch, mod_rest_idempotency:claim_alone(pending(<<"a">>, <<"g">>, Alive), 3)),
              ets:insert(mod_rest_idempotency, row(<<"b">>, <<"f">>, done, Answer, 300, 100000)),
              ?assertEqual({replay, Answer}, mod_rest_idempotency:claim_alone(pending(<<"b">>, <<"f">>, self()), 3)),
              %% An expired answer, another request's even, and a dead owner's claim are taken over.
              ets:insert(mod_rest_idempotency, row(<<"c">>, <<"other">>, done, Answer, 300, 999)),
              Mine = pending(<<"c">>, <<"f">>, self()),
              ?assertEqual({claimed, 300}, mod_rest_idempotency:claim_alone(Mine, 3)),
              ?assertEqual([Mine], ets:lookup(mod_rest_idempotency, element(2, Mine))),
              ets:insert(mod_rest_idempotency, pending(<<"d">>, <<"f">>, Dead)),
              %% A claim weighs nothing in the counts: taking one over adds a key, as a free one.
              ?assertEqual({claimed, none}, mod_rest_idempotency:claim_alone(pending(<<"d">>, <<"f">>, self()), 3)),
              Alive ! stop
      end).

%% Of two requests that read the same expired entry and decided to take it over, one does: the
%% second finds the row changed. (The race below cannot show this: its window is too short to hit.)
replaced_test() ->
    with_table(
      fun() ->
              Old = row(<<"e">>, <<"f">>, done, none, 300, 999),
              ets:insert(mod_rest_idempotency, Old),
              First = pending(<<"e">>, <<"f">>, self()),
              Second = pending(<<"e">>, <<"f">>, spawn(fun() -> ok end)),
              ?assert(mod_rest_idempotency:replaced(Old, First)),
              ?assertNot(mod_rest_idempotency:replaced(Old, Second)),
              ?assertEqual([First], ets:lookup(mod_rest_idempotency, element(2, Old)))
      end).

%% Fifty processes claim one key at once, free or held by an expired answer: one wins, the others
%% are told in flight. Fifty rounds.
claim_alone_race_test_() ->
    [{Name, fun() -> with_table(fun() -> [race(Setup, R) || R <- lists:seq(1, 50)] end) end}
     || {Name, Setup} <- [{"a free key", fun(_Key) -> ok end},
                          {"an expired answer",
                           fun(Key) -> ets:insert(mod_rest_idempotency, row(Key, <<"f">>, done, none, 300, 999)) end}]].

race(Setup, Round) ->
    Key = integer_to_binary(Round),
    Setup(Key),
    Parent = self(),
    Go = make_ref(),
    Pids = [spawn_link(fun() ->
                               receive Go -> ok end,
                               Outcome = mod_rest_idempotency:claim_alone(pending(Key, <<"f">>, self()), 3),
                               Parent ! {self(), Outcome},
                               receive stop -> ok end   % an owner alive until every claim is in
                       end)
            || _ <- lists:seq(1, 50)],
    [P ! Go || P <- Pids],
    Outcomes = [receive {P, Outcome} -> Outcome after 5000 -> timeout end || P <- Pids],
    [P ! stop || P <- Pids],
    ?assertEqual({Round, 1}, {Round, length([O || {claimed, _} = O <- Outcomes])}),
    ?assertEqual({Round, 49}, {Round, length([O || in_flight = O <- Outcomes])}).
