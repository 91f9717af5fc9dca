%% SPDX-License-Identifier: GPL-2.0-or-later
%%%----------------------------------------------------------------------
%%% mod_rest_port: owns the TypeScript worker's port, one per node.
%%%
%%% HTTP processes hand their request frames to a writer process, which writes all that have
%%% queued up in one port write, and wait on an alias; this process reads the worker's replies
%%% and hands each to its waiter.
%%% It traps exits, restarts a dead worker with backoff, and answers every pending request
%%% when the worker dies, so no HTTP client is left without an answer.
%%%
%%% Wire protocol ({packet, 4}, each frame term_to_binary/1 of one of these;
%%% src/port/protocol.ts types the same table):
%%%
%%%   ejabberd -> worker                          worker -> ejabberd
%%%   {config, Host, #{allowed_ips => [Cidr],     {hello, Version}         once, when ready
%%%            allowed_destinations => [Jid],     {reply, Id, Action}      one per request
%%%            allowed_stanza_types => [Name],      Action = {route, #xmlel{}}
%%%            allowed_senders => all | [Jid],
%%%            max_xml_depth => N,
%%%            max_xml_elements => N,
%%%            max_command_args => N,
%%%            max_command_size => Bytes,
%%%            api_max_stanza_size => Bytes}}
%%%   {forget, Host}                                       | {command, Name, [Arg], Auth}
%%%   {log_level, debug|info|warning|error}                | {answer, Status, Body}
%%%   {request, Id, #{method, path, body,           Auth = none | {User, Server, Password}
%%%                   ip, host, api,                     | {send, #xmlel{}}  authenticated API
%%%                   content_type, accept,              | {echo, #xmlel{}}  POST /rest/echo
%%%                   query => [{K, V}]}}                | {archive, #xmlel{}}  a MAM query iq,
%%%                                                         whose result messages mod_rest_mam
%%%                                                         collects
%%%                                                      | {document, Status, [{Name, Value}],
%%%                                                         ContentType, Body}  an API answer
%%%   {render, Id, #{host, accept, content_type,  {reply, Id, {document, ...}}
%%%                  status, stanza => #xmlel{}       the API answer the VM decided, written
%%%                  | error => Code, detail}}        in the format the request asked for
%%%                                               {log, Level, Line}       for ejabberd's log
%%%   {webhook, Id, #{url, format => xml|json,    {reply, Id, WebhookAction}  the call's outcome
%%%                   timeout => Ms,                WebhookAction =
%%%                   stanza => #xmlel{},             {webhook_done, Status, #xmlel{} | none}
%%%                   delivery_id => Bin,               the service answered (any status);
%%%                   secret => Bin}}
%%%      POST the stanza to a bot's URL                 its reply stanza when 2xx with a body
%%%      (mod_rest_webhook); secret optional        | {webhook_failed, Reason, Detail}
%%%                                                     Reason = unreachable | timeout
%%%                                                            | bad_answer | too_large
%%%                                                     Detail: words for the log
%%%   {ping, N}                                   {pong, N}                liveness probe;
%%%                                                                        also GET /rest/health
%%%   [Frame, ...]   a batch: several of the above
%%%                  in one frame, each handled as
%%%                  if it came alone
%%%
%%% A request that times out makes this process probe the worker: its main loop handles
%%% frames in order, so a pong proves it drained everything before it (bodies of 64 KiB or
%%% more go to its large-body lane, a thread, and are answered out of order; the worker
%%% withholds the pong when that lane is stuck). No pong within ?PROBE_TIMEOUT means it is
%%% frozen or its output is out of step: it is replaced.
%%%
%%% Every string is a UTF-8 binary. Id is below 2^31 (the worker's codec is exact only there).
%%% Replies are decoded with binary_to_term(B, [safe]): no atom is ever created from them.
%%%----------------------------------------------------------------------
-module(mod_rest_port).
-behaviour(gen_server).

-export([start_link/0, ensure_started/0, stop/0,
         set_host/3, forget_host/1, call/3, call/4, ping/2, pending/0]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2, handle_continue/2, terminate/2]).
-export([restart_delay/1, log_level/1, batch_frame/1]).

-include("logger.hrl").

-define(TABLE, mod_rest_port).
-define(PROTOCOL_VERSION, 1).
-define(MAX_ID, 16#7fffffff).
%% Restart backoff: from 100 ms, doubling, at most 10 s. A worker that said hello and then
%% served this long was no crash loop: its successor starts after the shortest delay.
-define(MIN_RESTART_DELAY, 100).
-define(MAX_RESTART_DELAY, 10000).
-define(STABLE_AFTER, 1000).
-define(PROBE_TIMEOUT, 5000).
%% How long a worker whose port was closed normally may take to exit before SIGKILL.
-define(EXIT_GRACE, 2000).
%% A worker starts in ~0.1 s; one that has not said hello after this is broken (or its
%% output is out of step from the first byte) and is replaced.
-define(HELLO_TIMEOUT, 10000).
-define(RATE_SWEEP_INTERVAL, 2000).
-define(BATCH_FRAMES, 64).
%% Replies at least this big make the owner collect and hibernate once handled, freeing its heap.
-define(BIG_FRAME, 1024 * 1024).
-define(BATCH_BYTES, 256 * 1024).
%% Let the port queue this much before port_command(nosuspend) answers busy (OTP 25+).
%% Request bodies can be 20 MiB, so the default (8 KiB-ish) limits would refuse them; and
%% with many HTTP processes writing at once, commands wait in the port's message queue,
%% whose default limits made a third of the requests at 256 connections answer busy.
-define(BUSY_LIMITS, {16 * 1024 * 1024, 32 * 1024 * 1024}).
%% Big frames may fill the port's queue up to this, no further: the rest of the busy limit is
%% kept for small frames, so that clients looping 20 MB bodies get 503 themselves instead of
%% making everyone else's cheap requests busy (security issue 16, item 8).
-define(BIG_FRAMES_QUEUE, 24 * 1024 * 1024).

-record(state, {port :: port() | undefined,
                os_pid :: non_neg_integer() | undefined,
                started_at = 0 :: integer(),
                delay = ?MIN_RESTART_DELAY :: pos_integer(),
                timer :: reference() | undefined,
                probe :: {pos_integer(), reference()} | undefined,
                writer :: pid() | undefined,
                hosts = #{} :: #{binary() => {map(), binary()}}}).

-type call_error() :: unavailable | busy | overloaded | timeout | worker_died | garbled.
-export_type([call_error/0]).

%%%===================================================================
%%% API
%%%===================================================================
-spec start_link() -> {ok, pid()} | {error, term()}.
start_link() ->
    gen_server:start_link({local, ?MODULE}, ?MODULE, [], []).

%% One owner per node, shared by every vhost that runs mod_rest.
-spec ensure_started() -> ok | {error, term()}.
ensure_started() -> mod_rest_singleton:ensure_started(?MODULE, 5000).

-spec stop() -> ok.
stop() -> mod_rest_singleton:stop(?MODULE).

%% Policy is the map sent to the worker; Executable the node binary this host asks for.
-spec set_host(binary(), map(), binary()) -> ok.
set_host(Host, Policy, Executable) ->
    gen_server:call(?MODULE, {set_host, Host, Policy, Executable}).

%% Returns how many hosts still use the worker.
-spec forget_host(binary()) -> non_neg_integer().
forget_host(Host) ->
    gen_server:call(?MODULE, {forget_host, Host}).

%% Runs in the HTTP process: sends the request and waits for the worker's action.
%% At most MaxInFlight requests wait at once; beyond that the answer is immediate.
-spec call(map(), pos_integer(), pos_integer()) -> {ok, term()} | {error, call_error()}.
call(Request, Timeout, MaxInFlight) ->
    call(request, Request, Timeout, MaxInFlight).

%% A request frame, a render frame (the authenticated API's answer, to be written in the
%% format its request asked for), a webhook frame (a stanza to POST to a bot) or a ping
%% (GET /rest/health): each is answered by one {reply, Id, Action} (a ping by its pong).
-spec call(request | render | webhook | ping, map(), pos_integer(), pos_integer()) -> {ok, term()} | {error, call_error()}.
call(Tag, Request, Timeout, MaxInFlight) ->
    try {ets:lookup(?TABLE, port), pending()} of
        {[{port, undefined, _}], _} -> {error, unavailable};
        {_, Pending} when Pending >= MaxInFlight -> {error, overloaded};
        {[{port, Port, Writer}], _} -> send_and_wait(Port, Writer, Tag, Request, Timeout)
    catch error:badarg -> {error, unavailable}   % owner not running: no table
    end.

%% A round trip through the worker's main loop, for GET /rest/health: a {ping, Id} frame by the
%% same writer as requests, whose pong the owner hands back like a reply. A pong proves that
%% the worker read and handled every frame before it (see above). Nothing is cached.
-spec ping(pos_integer(), pos_integer()) -> ok | {error, call_error()}.
ping(Timeout, MaxInFlight) ->
    case call(ping, #{}, Timeout, MaxInFlight) of
        {ok, pong} -> ok;
        {ok, _} -> {error, garbled};
        {error, _} = Err -> Err
    end.

%% How many requests wait for the worker now (0 when the owner is not running): every row but
%% `port` and `seq` is a waiting request; O(1), unlike a select. Rows of waiters that died are
%% removed when their reply comes, so the count heals itself.
-spec pending() -> non_neg_integer().
pending() ->
    case ets:info(?TABLE, size) of
        undefined -> 0;
        Size -> max(0, Size - 2)
    end.

%%%===================================================================
%%% gen_server callbacks
%%%===================================================================
init([]) ->
    process_flag(trap_exit, true),
    ets:new(?TABLE, [named_table, public, set, {read_concurrency, true},
                     {write_concurrency, true}]),
    Writer = start_writer(),
    %% {port, Port | undefined, Writer}: what an HTTP process needs, in one lookup.
    ets:insert(?TABLE, [{port, undefined, Writer}, {seq, 0}]),
    mod_rest_rate:new(),
    mod_rest_mam:new_table(),
    mod_rest_webhook_chain:new_table(),
    mod_rest_iq_waits:new_table(),
    erlang:send_after(?RATE_SWEEP_INTERVAL, self(), sweep_rate),
    {ok, #state{writer = Writer}}.

handle_call({set_host, Host, Policy, Executable}, _From, State) ->
    Old = executable(State),
    State1 = State#state{hosts = maps:put(Host, {Policy, Executable}, State#state.hosts)},
    State2 = case {State1#state.port, executable(State1)} of
                 {undefined, _} when State1#state.timer == undefined -> open(State1);
                 {undefined, _} -> State1;
                 {_, Old} -> send_config(Host, Policy, State1), State1;
                 {_, _New} ->
                     ?INFO_MSG("mod_rest: worker executable changed; restarting the worker", []),
                     open(close(State1, executable_changed))
             end,
    {reply, ok, State2};
handle_call({forget_host, Host}, _From, State) ->
    Hosts = maps:remove(Host, State#state.hosts),
    send_frame({forget, Host}, State),
    {reply, maps:size(Hosts), State#state{hosts = Hosts}};
handle_call(_Request, _From, State) ->
    {reply, {error, badarg}, State}.

handle_cast({timed_out, Port}, #state{port = Port, probe = undefined} = State) ->
    N = erlang:unique_integer([positive]) band ?MAX_ID,
    send_frame({ping, N}, State),
    Timer = erlang:send_after(?PROBE_TIMEOUT, self(), {probe_expired, N}),
    {noreply, State#state{probe = {N, Timer}}};
handle_cast(_Msg, State) ->
    {noreply, State}.

handle_info({Port, {data, Frame}}, #state{port = Port} = State) ->
    try binary_to_term(Frame, [safe]) of
        Term when byte_size(Frame) >= ?BIG_FRAME ->
            %% A big reply (a 20 MiB stanza) grew this process's heap: give it back at once
            %% rather than keep it until the next full sweep (security issue, item 5).
            case handle_frame(Term, State) of
                {noreply, State1} -> {noreply, State1, {continue, release_heap}};
                Other -> Other
            end;
        Term -> handle_frame(Term, State)
    catch error:badarg ->
            mod_rest_metrics:worker_event(garbled),
            ?ERROR_MSG("mod_rest: the worker sent an unreadable frame; restarting it", []),
            {noreply, restart_later(close(State, garbled))}
    end;
handle_info({Port, {exit_status, Status}}, #state{port = Port} = State) ->
    mod_rest_metrics:worker_event(died),
    ?ERROR_MSG("mod_rest: the worker exited with status ~B; restarting it", [Status]),
    {noreply, restart_later(close(State, worker_died))};
handle_info({'EXIT', Port, Reason}, #state{port = Port} = State) ->
    mod_rest_metrics:worker_event(died),
    ?ERROR_MSG("mod_rest: the worker's port closed (~p); restarting it", [Reason]),
    {noreply, restart_later(close(State, worker_died))};
handle_info({'EXIT', Writer, Reason}, #state{writer = Writer} = State) ->
    %% Never expected. The frames it held are lost: their senders time out (504), which also
    %% makes this process probe the worker. New requests reach the new writer.
    ?ERROR_MSG("mod_rest: the port writer stopped (~p); starting another", [Reason]),
    NewWriter = start_writer(),
    ets:update_element(?TABLE, port, {3, NewWriter}),
    {noreply, State#state{writer = NewWriter}};
handle_info({probe_expired, N}, #state{probe = {N, _}} = State) ->
    mod_rest_metrics:worker_event(frozen),
    ?ERROR_MSG("mod_rest: the worker stopped answering (no pong in ~B ms); replacing it",
               [?PROBE_TIMEOUT]),
    {noreply, restart_later(close(State, worker_died))};
handle_info({hello_timeout, Port}, #state{port = Port} = State) ->
    case is_ready(Port) of
        true -> {noreply, State};
        false ->
            mod_rest_metrics:worker_event(hello_timeout),
            ?ERROR_MSG("mod_rest: the worker did not say hello within ~B ms; replacing it",
                       [?HELLO_TIMEOUT]),
            {noreply, restart_later(close(State, garbled))}
    end;
handle_info(sweep_rate, State) ->
    mod_rest_rate:sweep(erlang:monotonic_time(millisecond)),
    erlang:send_after(?RATE_SWEEP_INTERVAL, self(), sweep_rate),
    {noreply, State};
handle_info(restart, State) ->
    {noreply, open(State#state{timer = undefined})};
handle_info(_Info, State) ->
    %% Messages from a port already closed, or EXITs of linked processes we no longer own.
    {noreply, State}.

%% Collect here, where the big term is out of scope: hibernating alone does not shrink the
%% heap when messages are already queued (a busy owner kept 19 MiB of garbage that way).
handle_continue(release_heap, State) ->
    erlang:garbage_collect(),
    {noreply, State, hibernate}.

terminate(_Reason, State) ->
    close(State, unavailable),
    ok.

%%%===================================================================
%%% HTTP-process side
%%%===================================================================
send_and_wait(Port, Writer, Tag, Request, Timeout) ->
    Id = ets:update_counter(?TABLE, seq, {2, 1, ?MAX_ID, 1}),
    Alias = alias([reply]),
    ets:insert(?TABLE, {Id, Alias}),
    Frame = case Tag of
                ping -> {ping, Id};
                _ -> {Tag, Id, Request}
            end,
    Bin = term_to_binary(Frame),
    Writer ! {frame, Port, Id, Alias, Bin},
    Result = receive {Alias, Reply} -> Reply
             after Timeout ->
                     gen_server:cast(?MODULE, {timed_out, Port}),
                     abandon(Id, Alias, timeout)
             end,
    release(byte_size(Bin)),
    Result.

%% A big frame (a 20 MiB body) is a binary this process refers to until its next full sweep,
%% which an HTTP connection kept alive may not reach for long: give it back now (security
%% issue 16, item 3: three 19 MB bodies kept ~700 MB a minute).
release(Bytes) when Bytes >= ?BIG_FRAME -> erlang:garbage_collect(), ok;
release(_Bytes) -> ok.

%% The waiter gives up: whatever arrives for it later is dropped by the alias.
abandon(Id, Alias, Why) ->
    ets:delete(?TABLE, Id),
    unalias(Alias),
    receive {Alias, Reply} -> Reply
    after 0 -> {error, Why}
    end.

%%%===================================================================
%%% Writer: batches the frames of many HTTP processes into one port write
%%%===================================================================
%% HTTP processes hand their frames to this process, which writes whatever has queued up
%% meanwhile in one port_command: one pipe write and one worker wake-up for many requests,
%% instead of one each. It never waits for more than one scheduling round: a lone frame goes
%% out as it is.
%% Several frames go as one frame holding their list (the worker handles each item as if it
%% came alone), at most ?BATCH_FRAMES or about ?BATCH_BYTES: well under the worker's frame limit.
start_writer() ->
    spawn_link(fun writer_loop/0).

writer_loop() ->
    receive
        {frame, Port, _, _, Frame} = First ->
            %% Let the HTTP processes already runnable hand in their frames first: bigger
            %% batches for one scheduling round of delay (+9% at 256 connections, measured).
            erlang:yield(),
            Batch = collect(Port, [First], 1, byte_size(Frame)),
            write_batch(Port, Batch),
            release(lists:sum([byte_size(F) || {frame, _, _, _, F} <- Batch])),
            writer_loop()
    end.

collect(_Port, Batch, Count, Bytes) when Count >= ?BATCH_FRAMES; Bytes >= ?BATCH_BYTES ->
    lists:reverse(Batch);
collect(Port, Batch, Count, Bytes) ->
    receive
        {frame, Port, _, _, Frame} = Next ->
            collect(Port, [Next | Batch], Count + 1, Bytes + byte_size(Frame))
    after 0 ->
            lists:reverse(Batch)
    end.

%% Small frames first, then each big one if the queue has room for it below ?BIG_FRAMES_QUEUE.
%% Replies are matched by id, so the order of the frames does not matter.
write_batch(Port, Batch) ->
    {Big, Small} = lists:partition(fun({frame, _, _, _, F}) -> byte_size(F) >= ?BIG_FRAME end, Batch),
    Small /= [] andalso write_frames(Port, Small),
    lists:foreach(fun(Frame) -> write_big(Port, Frame) end, Big).

write_big(Port, {frame, _, _, _, F} = Frame) ->
    try erlang:port_info(Port, queue_size) of
        {queue_size, Queued} when Queued + byte_size(F) =< ?BIG_FRAMES_QUEUE -> write_frames(Port, [Frame]);
        {queue_size, _} -> fail_batch([Frame], busy);
        undefined -> fail_batch([Frame], unavailable)
    catch error:badarg -> fail_batch([Frame], unavailable)
    end.

write_frames(Port, Batch) ->
    Data = batch_frame([F || {frame, _, _, _, F} <- Batch]),
    try erlang:port_command(Port, Data, [nosuspend]) of
        true -> ok;
        false -> fail_batch(Batch, busy)
    catch error:badarg -> fail_batch(Batch, unavailable)
    end.

%% One frame as it is; several as the external format of their list, [T1, ..., Tn], made of
%% the terms' own bytes (each term_to_binary without its version byte): nothing is copied.
-spec batch_frame([binary(), ...]) -> iodata().
batch_frame([Frame]) -> Frame;
batch_frame(Frames) ->
    [<<131, 108, (length(Frames)):32>>,
     [binary_part(F, 1, byte_size(F) - 1) || F <- Frames],
     <<106>>].

fail_batch(Batch, Why) ->
    lists:foreach(fun({frame, _, Id, Alias, _}) ->
                          ets:delete(?TABLE, Id),
                          Alias ! {Alias, {error, Why}}
                  end, Batch).

%%%===================================================================
%%% Internals
%%%===================================================================
handle_frame({reply, Id, Action}, State) when is_integer(Id) ->
    case ets:take(?TABLE, Id) of
        [{Id, Alias}] -> Alias ! {Alias, {ok, Action}};
        [] -> ?DEBUG("mod_rest: reply ~B came after its deadline", [Id])
    end,
    {noreply, State};
handle_frame({pong, N}, #state{probe = {N, Timer}} = State) ->
    erlang:cancel_timer(Timer),
    {noreply, State#state{probe = undefined}};
handle_frame({pong, N}, State) when is_integer(N) ->
    %% A health check's (ping/2): its waiter is a row like a request's.
    case ets:take(?TABLE, N) of
        [{N, Alias}] -> Alias ! {Alias, {ok, pong}};
        [] -> ok
    end,
    {noreply, State};
handle_frame({log, Level, Line}, State) when is_binary(Line) ->
    log(Level, Line),
    {noreply, State};
handle_frame({hello, ?PROTOCOL_VERSION}, #state{port = Port} = State) ->
    ?DEBUG("mod_rest: worker ~p ready", [State#state.os_pid]),
    ets:update_element(?TABLE, port, {2, Port}),
    mod_rest_metrics:worker_state(ready),
    {noreply, State};
handle_frame(Other, State) ->
    mod_rest_metrics:worker_event(garbled),
    ?ERROR_MSG("mod_rest: unexpected frame from the worker: ~P; restarting it", [Other, 10]),
    {noreply, restart_later(close(State, garbled))}.

log(debug, Line) -> ?DEBUG("mod_rest worker: ~ts", [Line]);
log(info, Line) -> ?INFO_MSG("mod_rest worker: ~ts", [Line]);
log(warning, Line) -> ?WARNING_MSG("mod_rest worker: ~ts", [Line]);
log(_, Line) -> ?ERROR_MSG("mod_rest worker: ~ts", [Line]).

open(#state{hosts = Hosts} = State) when map_size(Hosts) == 0 ->
    State;
open(State) ->
    Exe = executable(State),
    try
        Path = find_executable(Exe),
        Script = worker_script(),
        Port = open_port({spawn_executable, Path},
                         [{packet, 4}, binary, exit_status, use_stdio, hide,
                          {args, [Script]}, {busy_limits_port, ?BUSY_LIMITS},
                          {busy_limits_msgq, ?BUSY_LIMITS}]),
        OsPid = case erlang:port_info(Port, os_pid) of
                    {os_pid, P} -> P;
                    undefined -> undefined
                end,
        State1 = State#state{port = Port, os_pid = OsPid,
                             started_at = erlang:monotonic_time(millisecond)},
        mod_rest_metrics:worker_event(started),
        mod_rest_metrics:worker_state(starting),
        erlang:send_after(?HELLO_TIMEOUT, self(), {hello_timeout, Port}),
        send_frame({log_level, log_level(ejabberd_logger:get())}, State1),
        maps:foreach(fun(Host, {Policy, _}) -> send_config(Host, Policy, State1) end,
                     State#state.hosts),
        State1
    catch throw:{cannot_start, Why} ->
            mod_rest_metrics:worker_event(start_failed),
            ?ERROR_MSG("mod_rest: cannot start the worker: ~ts; retrying", [Why]),
            restart_later(State);
          error:Reason ->
            mod_rest_metrics:worker_event(start_failed),
            ?ERROR_MSG("mod_rest: cannot start the worker (~p); retrying", [Reason]),
            restart_later(State)
    end.

find_executable(Exe) ->
    Name = binary_to_list(Exe),
    case os:find_executable(Name) of
        false -> throw({cannot_start, io_lib:format("'~ts' not found (option worker_executable)", [Name])});
        Path -> Path
    end.

worker_script() ->
    case code:priv_dir(mod_rest) of
        {error, _} -> throw({cannot_start, "mod_rest has no priv directory in the code path"});
        Priv ->
            Script = filename:join([Priv, "worker", "main.js"]),
            case filelib:is_regular(Script) of
                true -> Script;
                false -> throw({cannot_start, io_lib:format("~ts is missing (was the worker built?)", [Script])})
            end
    end.

%% Closes the port if open and answers everything still waiting with {error, Why}.
%% Closing stdin makes a healthy worker finish and exit; one that is frozen or garbling
%% (Why = garbled, or worker_died from a failed probe) may never read it, so it gets
%% SIGKILL, and so does any worker still there a moment after a normal close.
close(#state{port = undefined} = State, _Why) ->
    State;
close(#state{port = Port, os_pid = OsPid} = State, Why) ->
    WasReady = is_ready(Port),
    ets:update_element(?TABLE, port, {2, undefined}),
    mod_rest_metrics:worker_state(down),
    case State#state.probe of
        {_, Timer} -> erlang:cancel_timer(Timer);
        undefined -> ok
    end,
    try port_close(Port) catch error:badarg -> ok end,   % already closed by the worker
    case Why of
        garbled -> kill_os_process(OsPid);
        worker_died -> kill_os_process(OsPid);
        _ -> spawn(fun() -> timer:sleep(?EXIT_GRACE), kill_os_process(OsPid) end)
    end,
    answer_pending({error, Why}),
    Lived = erlang:monotonic_time(millisecond) - State#state.started_at,
    Delay = case WasReady andalso Lived >= ?STABLE_AFTER of
                true -> ?MIN_RESTART_DELAY;
                false -> State#state.delay
            end,
    State#state{port = undefined, os_pid = undefined, delay = Delay, probe = undefined}.

kill_os_process(undefined) -> ok;
kill_os_process(OsPid) ->
    _ = os:cmd("kill -9 " ++ integer_to_list(OsPid) ++ " 2>/dev/null"),
    ok.

answer_pending(Reply) ->
    Pending = ets:select(?TABLE, [{{'$1', '$2'}, [{is_integer, '$1'}], [{{'$1', '$2'}}]}]),
    lists:foreach(fun({Id, Alias}) ->
                          ets:delete(?TABLE, Id),
                          Alias ! {Alias, Reply}
                  end, Pending).

%% A port is published for HTTP processes once its worker has said hello.
is_ready(Port) ->
    ets:lookup_element(?TABLE, port, 2) == Port.


restart_later(#state{timer = undefined, delay = Delay} = State) ->
    Timer = erlang:send_after(Delay, self(), restart),
    State#state{timer = Timer, delay = restart_delay(Delay)};
restart_later(State) ->
    State.

-spec restart_delay(pos_integer()) -> pos_integer().
restart_delay(Delay) ->
    min(Delay * 2, ?MAX_RESTART_DELAY).

send_config(Host, Policy, State) ->
    send_frame({config, Host, Policy}, State).

send_frame(_Term, #state{port = undefined}) -> ok;
send_frame(Term, #state{port = Port}) ->
    try port_command(Port, term_to_binary(Term)), ok
    catch error:badarg -> ok    % the port just died; its EXIT is on its way
    end.

%% The executable asked for by the first vhost (in ejabberd's `hosts` order) that runs us.
executable(#state{hosts = Hosts}) ->
    Ordered = [H || H <- ejabberd_option:hosts(), maps:is_key(H, Hosts)]
        ++ lists:sort(maps:keys(Hosts)),
    case Ordered of
        [] -> <<"node">>;
        [First | _] -> element(2, maps:get(First, Hosts))
    end.

%% ejabberd's log levels, folded onto the four the worker knows.
-spec log_level(atom()) -> debug | info | warning | error.
log_level(debug) -> debug;
log_level(info) -> info;
log_level(notice) -> info;
log_level(warning) -> warning;
log_level(_) -> error.
