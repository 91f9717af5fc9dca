%% SPDX-License-Identifier: GPL-2.0-or-later
%%%----------------------------------------------------------------------
%%% mod_rest_ctl_output: what ejabberdctl prints for the command lines it answers itself.
%%%
%%% ejabberdctl answers `status` without running ejabberd's `status` command
%%% (ejabberd_ctl:process(["status"]) prints its own words to the caller's group leader); a
%%% command line sent to mod_rest answers what ejabberdctl prints, so that one runs the same
%%% way here, its output captured by a group leader of our own.
%%%----------------------------------------------------------------------
-module(mod_rest_ctl_output).

-export([intercepted/2, run/1]).

%% How long ejabberd_ctl may take to print a status line.
-define(TIMEOUT_MS, 10000).

%% Whether ejabberdctl answers this line itself rather than through process2.
-spec intercepted(atom(), [binary()]) -> boolean().
intercepted(status, []) -> true;
intercepted(_, _) -> false.

%% ejabberd_ctl:process(Line)'s output and exit code, as process2 gives them: {Text, Code}.
-spec run([string()]) -> {string(), integer()}.
run(Line) ->
    Self = self(),
    Ref = make_ref(),
    {Pid, MRef} = spawn_monitor(
                    fun() ->
                            Capture = spawn_link(fun() -> capture([]) end),
                            group_leader(Capture, self()),
                            Code = ejabberd_ctl:process(Line),
                            Capture ! {text, self()},
                            receive {text, Text} -> Self ! {Ref, Text, Code} end
                    end),
    receive
        {Ref, Text, Code} ->
            erlang:demonitor(MRef, [flush]),
            %% ejabberdctl ends its output with a line end; the answer does not.
            {string:trim(Text, trailing, "\n"), Code};
        {'DOWN', MRef, process, Pid, Why} ->
            {"Unhandled exception occurred executing the command: " ++ io_lib:format("~p", [Why]), 1}
    after ?TIMEOUT_MS ->
            exit(Pid, kill),
            {"Error in ejabberd ctl process: no answer in time", 1}
    end.

%% A minimal I/O server: it keeps what is written, as characters.
capture(Acc) ->
    receive
        {io_request, From, ReplyAs, Request} ->
            {Reply, Acc1} = io_request(Request, Acc),
            From ! {io_reply, ReplyAs, Reply},
            capture(Acc1);
        {text, From} ->
            From ! {text, lists:flatten(lists:reverse(Acc))}
    end.

io_request({put_chars, Encoding, Chars}, Acc) ->
    {ok, [unicode:characters_to_list(Chars, Encoding) | Acc]};
io_request({put_chars, Encoding, M, F, A}, Acc) ->
    try apply(M, F, A) of
        Chars -> io_request({put_chars, Encoding, Chars}, Acc)
    catch _:_ -> {{error, F}, Acc}
    end;
io_request({put_chars, Chars}, Acc) ->
    io_request({put_chars, latin1, Chars}, Acc);
io_request({put_chars, M, F, A}, Acc) ->
    io_request({put_chars, latin1, M, F, A}, Acc);
io_request({get_geometry, _}, Acc) ->
    {{error, enotsup}, Acc};
io_request({requests, Requests}, Acc) ->
    lists:foldl(fun(R, {_, A}) -> io_request(R, A) end, {ok, Acc}, Requests);
io_request(_, Acc) ->
    {{error, request}, Acc}.
