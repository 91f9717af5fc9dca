%% SPDX-License-Identifier: GPL-2.0-or-later
%%%----------------------------------------------------------------------
%%% mod_rest_command: runs an ejabberdctl command line for mod_rest, in the VM.
%%%
%%% ejabberd_ctl:process2/2 neither checks --auth passwords nor applies its access
%%% argument, and it turns command names into atoms. So, in this order: the credentials
%%% are checked (ejabberd_auth), then access_commands (acl:match_rule/3), then the command
%%% must already exist, not be internal, and get the number of arguments ejabberd's own
%%% format asks for; only then does process2 run it, so its text output is what ejabberdctl
%%% prints. Its failures that are Erlang terms or stack traces are logged, and the client
%%% gets one line instead.
%%%
%%% Supported: ejabberd 23.01 to 26.07. What differs between them, and where it is handled:
%%%   - 24.06: process2's text is mostly characters, no longer UTF-8 bytes (output_to_binary/1);
%%%            commands tagged `internal` cannot be run from ejabberdctl (known_command/1).
%%%   - 26.07: user-policy commands carry `user` and `host` in their own argument list, and
%%%            --auth callers are checked against api_permissions per host (check_arity/4
%%%            asks ejabberd for the format; the refusal is mapped in failure_answer/4).
%%%----------------------------------------------------------------------
-module(mod_rest_command).

-export([run/5, default_access_commands/0, authenticate/2, begin_attempt/2,
         anonymous_login/1]).
-export_type([auth/0]).
-export([rules_for/2, exit_status/1, arity_error/3, api_version/0, output_to_binary/1, suggest/2,
         failure_answer/4, secrets/3, redact/2, quoted/1]).

-include("logger.hrl").
-include("ejabberd_commands.hrl").

%% ejabberd_ctl's "latest API version": commands of every version are visible.
-define(API_VERSION, 1000000).
%% Without access_commands: the accounts ejabberd's `configure` access rule allows (its
%% admins) may run every command; nobody else any.
-define(DEFAULT_ACCESS_COMMANDS, [{configure, all}]).
-define(TOO_MANY_FAILURES,
        <<"Error: too many failed --auth attempts from this address; try again in a minute.">>).
-define(NEEDS_AUTH,
        <<"Error: send --auth USER HOST PASSWORD first: access_commands lets only some accounts run commands.">>).
%% Longest request string (in characters) a log line or an answer quotes.
-define(QUOTED_CHARS, 64).
%% Command names are under 40 characters; "Did you mean" needs no more of a request's name.
-define(SUGGESTION_PREFIX, 48).

-type auth() :: none | {binary(), binary(), binary()}.
-type access_commands() :: open | [{atom(), all | [atom()]}].
-export_type([access_commands/0]).

%% Returns the HTTP status and body.
%% Client: the client's IP and the most failed --auth attempts a minute it may make.
-spec run(binary(), binary(), [binary()], auth(), {inet:ip_address(), pos_integer()}) ->
          {pos_integer(), binary()}.
run(Host, Name, Args, Auth, Client) ->
    try
        Caller = authenticate(Auth, Client),
        %% Before anything about the command is looked up: who may not run commands at all
        %% learns nothing of them.
        Checked = request_vhosts(Host, Caller),
        authorize(Name, Caller, Checked),
        Command = known_command(Name),
        {Format, Args1, Auth1} = case is_user_command(Command) andalso Caller /= none of
                                     true -> mod_rest_user_command:bind(Name, Command, Args, Caller);
                                     false -> {check_arity(Name, Command, Args, Auth), Args, Auth}
                                 end,
        %% The strictest of every vhost involved: a Host header or an --auth vhost with an
        %% open policy cannot act on a vhost whose policy is closed (security issue, item 6).
        authorize(Name, Caller, involved_vhosts(Format, Args1) -- Checked),
        execute(Name, Command, Args1, Auth1, secrets(Format, Args1, Auth))
    catch throw:{refused, Status, Body} ->
            {Status, iolist_to_binary(Body)}
    end.

%% A wrong password is refused whatever access_commands says. So is --auth for an account of
%% a vhost with anonymous login, where ejabberd accepts any password for any name.
%% Attempts are counted per client (mod_rest_rate) before the password is checked: past the
%% limit a minute, --auth is refused (429) before any password is checked. The limit is the
%% strictest of the Host header's vhost's (MaxFailures) and the account's own vhost's: the
%% Host header cannot choose a laxer one for an account (security issue 2, item 10).
authenticate(none, _Client) ->
    none;
authenticate({User, Server, Password}, {IP, MaxFailures}) ->
    JID = jid:make(User, Server),
    Limit = case JID of
                error -> MaxFailures;
                _ -> min(MaxFailures, max_auth_failures(element(2, jid:tolower(JID))))
            end,
    Attempt = begin_attempt(IP, Limit),
    Valid = JID /= error andalso
        begin
            {LUser, LServer, _} = jid:tolower(JID),
            not anonymous_login(LServer) andalso check_password(LUser, LServer, Password)
        end,
    case Valid of
        true ->
            mod_rest_rate:auth_done(Attempt, ok),
            JID;
        false ->
            mod_rest_rate:auth_done(Attempt, failed),
            %% Never the password.
            ?INFO_MSG("mod_rest: --auth refused for ~ts@~ts from ~ts",
                      [quoted(User), quoted(Server), inet:ntoa(IP)]),
            throw({refused, 401, <<"Error: invalid --auth credentials.">>})
    end.

%% Counts an attempt from IP before its credentials are checked; past MaxFailures failed
%% attempts this minute, throws the 429 refusal instead (--auth, Basic, Bearer alike).
%% The caller ends the attempt with mod_rest_rate:auth_done/2.
-spec begin_attempt(inet:ip_address(), pos_integer()) -> mod_rest_rate:attempt().
begin_attempt(IP, MaxFailures) ->
    case mod_rest_rate:auth_attempt(IP, MaxFailures, erlang:monotonic_time(millisecond)) of
        {ok, Attempt} -> Attempt;
        blocked -> throw({refused, 429, ?TOO_MANY_FAILURES})
    end.

%% The limit a served vhost sets for its accounts; the default where mod_rest does not run
%% there, and none (the Host header's alone) for a name ejabberd does not serve.
-spec max_auth_failures(binary()) -> pos_integer() | infinity.
max_auth_failures(LServer) ->
    case lists:member(LServer, ejabberd_option:hosts()) of
        false -> infinity;
        true ->
            case gen_mod:is_loaded(LServer, mod_rest) of
                true -> mod_rest_opt:max_auth_failures(LServer);
                false -> proplists:get_value(max_auth_failures, mod_rest:mod_options(LServer))
            end
    end.

%% An unknown user must not answer sooner than a wrong password: with SCRAM storage, checking
%% a password costs a PBKDF2 run (ms), so an unknown user gets one of the same cost.
check_password(LUser, LServer, Password) ->
    try ejabberd_auth:check_password(LUser, <<>>, LServer, Password) of
        true -> true;
        _ ->
            case ejabberd_option:auth_password_format(LServer) == scram andalso
                not ejabberd_auth:user_exists(LUser, LServer) of
                true -> _ = ejabberd_auth:password_to_scram(LServer, Password), false;
                false -> false
            end
    catch _:_ -> false   % e.g. a server ejabberd does not serve
    end.

-spec anonymous_login(binary()) -> boolean().
anonymous_login(LServer) ->
    try lists:member(anonymous, ejabberd_option:auth_method(LServer))
    catch _:_ -> false   % not a vhost: check_password refuses it
    end.

%% The vhosts whose access_commands apply before the command is known: the one the Host
%% header chose, and the caller's own.
request_vhosts(Host, none) -> [Host];
request_vhosts(Host, Caller) ->
    {_, Own, _} = jid:tolower(Caller),
    lists:usort([Host, Own]).

%% The vhosts a command acts on: those its arguments name, or, when they name none (dump,
%% backup, connected_users, set_loglevel, stop...), every served vhost: a node-wide command
%% acts on all of them, so an open vhost cannot run it for a closed one (security issue 2,
%% item 1). When every vhost is open, it runs without credentials, as in the original.
-spec involved_vhosts([{atom(), term()}], [binary()]) -> [binary()].
involved_vhosts(Format, Args) ->
    case named_vhosts(Format, Args) of
        [] -> ejabberd_option:hosts();
        Named -> Named
    end.

%% The served vhosts the command's arguments name (arguments called host, server, vhost...).
-spec named_vhosts([{atom(), term()}], [binary()]) -> [binary()].
named_vhosts(Format, Args) ->
    Hosts = ejabberd_option:hosts(),
    lists:usort([H || {{ArgName, _}, Arg} <- lists:zip(Format, Args),
                      is_host_argument(ArgName),
                      H <- [jid:nameprep(Arg)], H /= error, lists:member(H, Hosts)]).

is_host_argument(ArgName) ->
    Text = atom_to_binary(ArgName, utf8),
    binary:match(Text, [<<"host">>, <<"server">>]) /= nomatch.

%% Each vhost's access_commands must let Caller run Name.
authorize(Name, Caller, VHosts) ->
    lists:foreach(fun(VHost) -> authorize_on(Name, Caller, VHost, access_commands(VHost)) end,
                  VHosts).

%% A vhost where mod_rest does not run has the default policy.
access_commands(VHost) ->
    case gen_mod:is_loaded(VHost, mod_rest) of
        true -> mod_rest_opt:access_commands(VHost);
        false -> ?DEFAULT_ACCESS_COMMANDS
    end.

authorize_on(_Name, _Caller, _VHost, open) ->
    ok;
authorize_on(_Name, none, _VHost, _AccessCommands) ->
    throw({refused, 401, ?NEEDS_AUTH});
authorize_on(Name, Caller, VHost, AccessCommands) ->
    Allowed = lists:any(fun(Rule) -> acl:match_rule(VHost, Rule, Caller) == allow end,
                        rules_for(Name, AccessCommands)),
    case Allowed of
        true -> ok;
        false ->
            ?INFO_MSG("mod_rest: ~ts may not run '~ts' (access_commands of ~ts)",
                      [quoted(jid:encode(Caller)), quoted(Name), VHost]),
            throw({refused, 403, [<<"Error: ">>, jid:encode(Caller),
                                  <<" is not allowed to run '">>, quoted(Name), <<"'.">>]})
    end.

-spec api_version() -> pos_integer().
api_version() -> ?API_VERSION.

-spec default_access_commands() -> access_commands().
default_access_commands() -> ?DEFAULT_ACCESS_COMMANDS.

%% The access rules that govern Name: those whose command list names it, or is `all`.
-spec rules_for(binary(), [{atom(), all | [atom()]}]) -> [atom()].
rules_for(Name, AccessCommands) ->
    Norm = normalise(Name),
    [Rule || {Rule, Commands} <- AccessCommands,
             Commands == all orelse
                 lists:any(fun(C) -> atom_to_binary(C, utf8) == Norm end, Commands)].

%% ejabberdctl accepts dashes for underscores.
normalise(Name) ->
    binary:replace(Name, <<"-">>, <<"_">>, [global]).

%% Never list_to_atom on request data: an unknown name is not an existing atom.
%% Returns the command's name as an atom. A command tagged `internal` (24.06+: for the web
%% admin only; ejabberdctl refuses it) is as unknown to us as to ejabberdctl's listing.
known_command(Name) ->
    try
        Command = binary_to_existing_atom(normalise(Name), utf8),
        #ejabberd_commands{tags = Tags} = definition(Command),
        false = lists:member(internal, Tags),
        Command
    catch _:_ ->
            Known = [C || {C, _, _} <- ejabberd_commands:list_commands(?API_VERSION)],
            Guess = suggest(Name, Known),
            throw({refused, 400, io_lib:format("Error: unknown command '~ts'. Did you mean '~ts'?",
                                               [quoted(Name), Guess])})
    end.

%% What ejabberd_commands:get_command_definition/2 answers: the highest version up to ours.
%% It finds it by scanning the whole table with a match spec (~25 us a request); the table is
%% a bag keyed by the command's name, so a key read finds the same rows. When it finds none
%% (an unknown name, or a table laid out otherwise), ejabberd_commands' own lookup decides.
definition(Command) ->
    Rows = try mnesia:dirty_read(ejabberd_commands, Command)
           catch _:_ -> unreadable
           end,
    case Rows of
        [#ejabberd_commands{} | _] ->
            {_, Definition} = lists:max([{V, D} || #ejabberd_commands{version = V} = D <- Rows,
                                                   V =< ?API_VERSION]),
            Definition;
        _ -> ejabberd_commands:get_command_definition(Command, ?API_VERSION)   % throws if unknown
    end.

%% A `user`-policy command (get_roster, set_vcard...), which ejabberd binds to the --auth
%% caller on some versions and not on others: mod_rest_user_command gives it the same
%% arguments on every version.
is_user_command(Command) ->
    #ejabberd_commands{policy = Policy} = definition(Command),
    Policy == user.

%% The argument count process2 will insist on: ejabberd's own format for this caller, as
%% ejabberd_ctl asks for it (user-policy commands take `user host` first without --auth;
%% from 26.07 they always do).
check_arity(Name, Command, Args, Auth) ->
    Format = element(1, ejabberd_commands:get_command_format(Command, ctl_auth(Auth),
                                                             ?API_VERSION)),
    case arity_error(Name, length(Format), length(Args)) of
        ok -> Format;
        Message -> throw({refused, 400, Message})
    end.

%% What must not reach a log line: the --auth password and every argument whose name in
%% the command's format says it is one (password, newpass, ...).
-spec secrets([{atom(), term()}], [binary()], auth()) -> [binary()].
secrets(Format, Args, Auth) ->
    Named = [Arg || {{ArgName, _}, Arg} <- lists:zip(Format, Args),
                    binary:match(atom_to_binary(ArgName, utf8), <<"pass">>) /= nomatch],
    Given = case Auth of
                none -> Named;
                {_, _, Password} -> [Password | Named]
            end,
    [S || S <- Given, S /= <<>>].

%% The text for one log line: every secret replaced, line breaks escaped (a log line is
%% one line, whatever the text holds).
-spec redact(binary(), [binary()]) -> binary().
redact(Text, Secrets) ->
    Hidden = case Secrets of
                 [] -> Text;
                 _ -> binary:replace(Text, Secrets, <<"******">>, [global])
             end,
    binary:replace(binary:replace(Hidden, <<"\r">>, <<"\\r">>, [global]),
                   <<"\n">>, <<"\\n">>, [global]).

%% The shape ejabberd_ctl gives --auth credentials.
ctl_auth(none) -> noauth;
ctl_auth({User, Server, Password}) -> {User, Server, Password, true}.

%% The known name closest to Name by edit distance, ties going to the smaller name: what
%% ejabberd's misc:best_match/2 answers, computed in linear space and only over a prefix of
%% Name as long as a command name can be (misc's memoised version took minutes on long names,
%% and ~10 ms a request on short ones).
-spec suggest(binary(), [atom()]) -> string().
suggest(Name, Known) ->
    Prefix = binary_to_list(binary:part(Name, 0, min(byte_size(Name), ?SUGGESTION_PREFIX))),
    {_, Best} = lists:min([{distance(Prefix, S), S} || K <- Known, S <- [atom_to_list(K)]]),
    Best.

%% Levenshtein distance, one row of the table at a time.
distance(S, T) ->
    distance(S, T, lists:seq(0, length(T)), 1).

distance([], _T, Row, _I) -> lists:last(Row);
distance([C | S], T, Prev, I) -> distance(S, T, next_row(C, T, Prev, [I]), I + 1).

next_row(_C, [], _Prev, Acc) -> lists:reverse(Acc);
next_row(C, [D | T], [Diag, Up | Prev], [Left | _] = Acc) ->
    Cost = case C of D -> 0; _ -> 1 end,
    next_row(C, T, [Up | Prev], [min(min(Up, Left) + 1, Diag + Cost) | Acc]).

%% A request's string as a log line or an answer may show it: control characters escaped (a
%% name holding a line break cannot forge a log line of its own), and at most ?QUOTED_CHARS
%% characters (a 10 MB name is not echoed back, nor formatted).
-spec quoted(binary()) -> binary().
quoted(Text) ->
    %% string:slice reads only as far as it needs, however long Text is.
    Head = string:slice(Text, 0, ?QUOTED_CHARS + 1),
    Shown = case string:length(Head) > ?QUOTED_CHARS of
                true -> [string:slice(Head, 0, ?QUOTED_CHARS), <<"...">>];
                false -> Head
            end,
    << <<(escape(C))/binary>> || <<C/utf8>> <= unicode:characters_to_binary(Shown) >>.

escape(C) when C < 32; C == 127 -> iolist_to_binary(io_lib:format("\\x~2.16.0b", [C]));
escape(C) -> <<C/utf8>>.

%% The same words ejabberdctl uses.
-spec arity_error(binary(), non_neg_integer(), non_neg_integer()) -> ok | binary().
arity_error(_Name, N, N) -> ok;
arity_error(Name, Wanted, Given) when Wanted > Given ->
    iolist_to_binary(io_lib:format("Error: the command '~ts' requires ~B more argument.",
                                   [Name, Wanted - Given]));
arity_error(Name, Wanted, Given) ->
    iolist_to_binary(io_lib:format("Error: the command '~ts' requires ~B less argument.",
                                   [Name, Given - Wanted])).

execute(Name, Command, Args, Auth, Secrets) ->
    Line = [unicode:characters_to_list(A) || A <- [Name | Args]],
    CtlArgs = case Auth of
                  none -> Line;
                  {U, S, P} -> ["--auth" | [binary_to_list(X) || X <- [U, S, P]]] ++ Line
              end,
    ?DEBUG("mod_rest: running command '~ts' with ~B arguments", [quoted(Name), length(Args)]),
    {Text, Code} = case mod_rest_ctl_output:intercepted(Command, Args) of
                       true -> mod_rest_ctl_output:run(Line);
                       false -> ejabberd_ctl:process2(CtlArgs, [])
                   end,
    Output = output_to_binary(Text),
    case {Output, Code} of
        {<<>>, _} -> {exit_status(Code), integer_to_binary(Code)};
        {_, 0} -> {200, Output};
        _ -> failure_answer(Command, Output, Code, Secrets)
    end.

%% process2's failures that are not words for a client, as ejabberd_ctl writes them: a
%% thrown term printed with ~p, or an exception with its stack trace (which shows paths).
%% They are logged whole; the client gets one line. Anything else is the command's own
%% message ("Error: ...", "User ... already registered") and is kept as it is.
-spec failure_answer(atom(), binary(), integer(), [binary()]) -> {pos_integer(), binary()}.
failure_answer(Command, <<"{error,access_rules_unauthorized}">>, _Code, _Secrets) ->
    %% 26.07: api_permissions refused the --auth caller (e.g. a host argument it may not
    %% `configure`).
    {403, iolist_to_binary(
            io_lib:format("Error: ejabberd's api_permissions do not allow this account to run '~ts' "
                          "with these arguments.", [Command]))};
failure_answer(Command, <<"{error,frontend_cannot_call_an_internal_command}">>, _Code, _Secrets) ->
    {400, iolist_to_binary(io_lib:format("Error: unknown command '~ts'.", [Command]))};
failure_answer(Command, Output, Code, Secrets) ->
    case is_internal_failure(Output) of
        true ->
            ?WARNING_MSG("mod_rest: command '~ts' failed inside ejabberd: ~ts",
                         [Command, redact(Output, Secrets)]),
            {500, iolist_to_binary(
                    io_lib:format("Error: the command '~ts' failed inside ejabberd; ejabberd's "
                                  "log has the details.", [Command]))};
        false ->
            {exit_status(Code), Output}
    end.

%% ejabberd_ctl's own words for a crash or an unexpected result, and anything that starts
%% like an Erlang term (a thrown term printed with ~p).
is_internal_failure(<<"Unhandled exception", _/binary>>) -> true;
is_internal_failure(<<"Erroneous result", _/binary>>) -> true;
is_internal_failure(<<"Error in ejabberd ctl process", _/binary>>) -> true;
is_internal_failure(<<"Problem '", _/binary>>) -> true;
is_internal_failure(<<C, _/binary>>) when C == ${; C == $[; C == $< -> true;
is_internal_failure(_) -> false.

%% The body is always UTF-8, but process2's text mixes two encodings, by ejabberd version and
%% by command: UTF-8 bytes (what io_lib:format("~s") makes of a binary, as register's message
%% does on every version, and every binary before 24.06) and characters (~ts: every binary
%% result from 24.06, restuple texts). Each line is taken as bytes when it is valid UTF-8 as
%% bytes, and as characters otherwise: exact, but for a line of Latin-1 characters that
%% happens to spell valid UTF-8 ("Ã«"), which would be read as the character it encodes.
-spec output_to_binary(iodata() | string()) -> binary().
output_to_binary(Text) ->
    Flat = lists:flatten(Text),
    iolist_to_binary(lists:join($\n, [line_to_binary(L) || L <- string:split(Flat, "\n", all)])).

line_to_binary(Line) ->
    try list_to_binary(Line) of
        Bytes ->
            case unicode:characters_to_binary(Bytes) of
                Bytes -> Bytes;
                _ -> unicode:characters_to_binary(Line)   % Latin-1 characters, not UTF-8
            end
    catch error:badarg -> unicode:characters_to_binary(Line)   % characters beyond 255
    end.

%% ejabberdctl's exit code as an HTTP status: 0 is success; anything else means the command
%% ran and reported failure (the original answered 200 for both).
-spec exit_status(integer()) -> pos_integer().
exit_status(0) -> 200;
exit_status(_) -> 422.

