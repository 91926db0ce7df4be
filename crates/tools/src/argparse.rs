//! The command-line parser of Kafka's argparse4j-based tools (`kafka-transactions.sh`, …):
//! argparse4j 0.7.0 as Kafka 4.1 ships it, reproduced so that a tool parses the same
//! command lines and prints the same usage, help and error texts, byte for byte.
//!
//! clap cannot be bent into argparse4j's shape: argparse4j checks required options only
//! after a subcommand's own parse (and the last missing one wins), resolves unique
//! prefixes of options and of subcommands, prints the usage of the parser that failed
//! before a one-line error, suggests near names ("Did you mean:") by Damerau–Levenshtein
//! distance, and wraps and *justifies* its text at the terminal's width with Java's line
//! breaking rules. So the parser is written out here, from argparse4j's own sources
//! (`ArgumentParserImpl`, `SubparsersImpl`, `ArgumentImpl`, `TextHelper`).
//!
//! What it models: optional arguments (`--x VALUE`, `--x=VALUE`, `-h`, `-v`, concatenated
//! short flags) of type string, `Integer`, `Long` and `Short`, argument groups with a
//! title and description, one level of subcommands, the help and version actions. What a
//! Kafka tool does not use (positional arguments, `nargs`, choices, mutually exclusive
//! groups, `@file` arguments) is left out.

use std::collections::BTreeMap;

/// argparse4j's `DEFAULT_FORMAT_WIDTH`: the width when the terminal's is unknown.
const DEFAULT_FORMAT_WIDTH: usize = 75;
/// Where `TextHelper.printHelp` starts an argument's help text.
const HELP_INDENT_WIDTH: usize = 25;
/// A usage line's continuation indent when `usage: <prog>` is longer than this.
const USAGE_INDENT_MAX: usize = 30;

/// The type an option's value is converted to, as argparse4j's `ReflectArgumentType`
/// does with `Integer.valueOf` & co.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    String,
    Integer,
    Long,
    Short,
}

/// A converted value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    String(String),
    Integer(i64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    /// `-h/--help`: print this parser's help, then stop (argparse4j's
    /// `HelpScreenException`).
    Help,
    /// Kafka's `PrintVersionAndExitAction`.
    Version,
    /// `store()`: keep the one value that follows.
    Store(ValueType),
}

/// One optional argument.
#[derive(Debug, Clone)]
pub struct Argument {
    flags: Vec<&'static str>,
    dest: String,
    help: &'static str,
    metavar: Option<&'static str>,
    action: Action,
    required: bool,
    default: Option<Value>,
    /// The index of the argument group it was added to, if any.
    group: Option<usize>,
}

impl Argument {
    /// An option stored as `value_type`, its destination named as argparse4j names it
    /// (the first long flag without dashes, `-` turned into `_`).
    pub fn new(flags: &[&'static str], value_type: ValueType, help: &'static str) -> Argument {
        assert!(!flags.is_empty() && flags.iter().all(|f| f.starts_with('-')));
        let long = flags
            .iter()
            .find(|f| f.starts_with("--"))
            .unwrap_or(&flags[0]);
        Argument {
            flags: flags.to_vec(),
            dest: long.trim_start_matches('-').replace('-', "_"),
            help,
            metavar: None,
            action: Action::Store(value_type),
            required: false,
            default: None,
            group: None,
        }
    }

    fn help_action() -> Argument {
        Argument {
            action: Action::Help,
            ..Argument::new(
                &["-h", "--help"],
                ValueType::String,
                "show this help message and exit",
            )
        }
    }

    /// Kafka's `-v/--version` (`PrintVersionAndExitAction`).
    pub fn version(help: &'static str) -> Argument {
        Argument {
            action: Action::Version,
            ..Argument::new(&["-v", "--version"], ValueType::String, help)
        }
    }

    pub fn required(mut self) -> Argument {
        self.required = true;
        self
    }

    pub fn metavar(mut self, metavar: &'static str) -> Argument {
        self.metavar = Some(metavar);
        self
    }

    pub fn default_value(mut self, value: Value) -> Argument {
        self.default = Some(value);
        self
    }

    /// `textualName()`: the flags joined by `/`, as errors name the argument.
    fn textual_name(&self) -> String {
        self.flags.join("/")
    }

    fn consumes_value(&self) -> bool {
        matches!(self.action, Action::Store(_))
    }

    /// `formatMetavar()`: the placeholder after the flag, the destination in upper case
    /// unless one was set.
    fn format_metavar(&self) -> String {
        if !self.consumes_value() {
            return String::new();
        }
        self.metavar
            .map(str::to_string)
            .unwrap_or_else(|| self.dest.to_uppercase())
    }

    /// `formatShortSyntax()`: `--x X`, bracketed when optional, for usage lines.
    fn short_syntax(&self) -> String {
        let mut syntax = self.flags[0].to_string();
        let metavar = self.format_metavar();
        if !metavar.is_empty() {
            syntax.push(' ');
            syntax.push_str(&metavar);
        }
        if self.required {
            syntax
        } else {
            format!("[{syntax}]")
        }
    }

    /// `formatHelpTitle()`: every flag with its metavar, comma-separated.
    fn help_title(&self) -> String {
        let metavar = self.format_metavar();
        self.flags
            .iter()
            .map(|flag| {
                if metavar.is_empty() {
                    flag.to_string()
                } else {
                    format!("{flag} {metavar}")
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A titled group of arguments, which help prints in a section of its own.
#[derive(Debug, Clone)]
struct Group {
    title: &'static str,
    description: &'static str,
}

/// The subcommands of a parser (`addSubparsers()`).
#[derive(Debug, Clone)]
struct Subcommands {
    title: &'static str,
    metavar: &'static str,
    /// In the order added (argparse4j keeps a `LinkedHashMap`).
    commands: Vec<Subcommand>,
}

#[derive(Debug, Clone)]
struct Subcommand {
    name: &'static str,
    help: &'static str,
    parser: Parser,
}

/// One parser: the tool's, or one of its subcommands'.
#[derive(Debug, Clone)]
pub struct Parser {
    prog: &'static str,
    description: &'static str,
    /// The subcommand this parser parses, if it is one.
    command: Option<&'static str>,
    /// In the order added, `-h/--help` first.
    arguments: Vec<Argument>,
    groups: Vec<Group>,
    subcommands: Option<Subcommands>,
}

/// A parsed command line: each destination's value (absent: not given and no default),
/// and the subcommand chosen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Namespace {
    values: BTreeMap<String, Value>,
    pub command: Option<String>,
}

impl Namespace {
    pub fn string(&self, dest: &str) -> Option<&str> {
        match self.values.get(dest) {
            Some(Value::String(s)) => Some(s),
            _ => None,
        }
    }

    pub fn integer(&self, dest: &str) -> Option<i64> {
        match self.values.get(dest) {
            Some(Value::Integer(n)) => Some(*n),
            _ => None,
        }
    }
}

/// How a parse ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    Args(Namespace),
    /// `-h`: this help text goes to stdout (Kafka's tools then exit with 1).
    Help(String),
    /// `-v`: the tool prints its version and exits with 0.
    Version,
    /// A bad command line: this text (usage, error line, suggestions) goes to stderr.
    Error(String),
}

/// An `ArgumentParserException`: the parser that raised it (its usage is printed) and
/// the message, with what argparse4j adds after it.
#[derive(Debug)]
struct ParseError {
    /// The path to the parser that raised it: empty for the top one, else the
    /// subcommand's name.
    parser: Option<&'static str>,
    message: String,
    suggestions: Suggestions,
}

#[derive(Debug)]
enum Suggestions {
    None,
    /// An unknown option: near flags of the parser.
    Flag(String),
    /// An unknown subcommand: near commands.
    Command(String),
}

/// The parse's progress through the arguments (argparse4j's `ParseState`).
struct State<'a> {
    args: &'a [String],
    index: usize,
    consumed_separator: bool,
    /// A missing required argument, reported only if nothing else fails first.
    deferred: Option<ParseError>,
}

impl State<'_> {
    fn arg(&self) -> &str {
        &self.args[self.index]
    }

    fn available(&self) -> bool {
        self.index < self.args.len()
    }

    /// `flagFound`: a term that starts with `-` and is more than dashes, unless it is a
    /// negative integer (`-\d+`) or comes after `--`.
    fn is_flag(&self, term: &str) -> bool {
        if self.consumed_separator {
            return false;
        }
        if term == "--" {
            return true;
        }
        is_prefixed(term) && !is_negative_integer(term)
    }
}

fn is_prefixed(term: &str) -> bool {
    term.starts_with('-') && !term.trim_start_matches('-').is_empty()
}

fn is_negative_integer(term: &str) -> bool {
    term.strip_prefix('-')
        .is_some_and(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
}

impl Parser {
    /// `ArgumentParsers.newArgumentParser(prog)`: with `-h/--help`.
    pub fn new(prog: &'static str, description: &'static str) -> Parser {
        Parser {
            prog,
            description,
            command: None,
            arguments: vec![Argument::help_action()],
            groups: Vec::new(),
            subcommands: None,
        }
    }

    pub fn argument(mut self, argument: Argument) -> Parser {
        self.arguments.push(argument);
        self
    }

    /// `addArgumentGroup(title).description(description)` with its arguments.
    pub fn group(
        mut self,
        title: &'static str,
        description: &'static str,
        arguments: Vec<Argument>,
    ) -> Parser {
        let index = self.groups.len();
        self.groups.push(Group { title, description });
        for mut argument in arguments {
            argument.group = Some(index);
            self.arguments.push(argument);
        }
        self
    }

    /// `addSubparsers().title(title).metavar(metavar)`; the chosen command is
    /// [`Namespace::command`].
    pub fn subcommands(mut self, title: &'static str, metavar: &'static str) -> Parser {
        self.subcommands = Some(Subcommands {
            title,
            metavar,
            commands: Vec::new(),
        });
        self
    }

    /// `subparsers.addParser(name).help(help)`, its description and arguments in
    /// `parser` (made with [`Parser::new`], whose `prog` is ignored: a subcommand's is
    /// its main parser's).
    pub fn subcommand(mut self, name: &'static str, help: &'static str, parser: Parser) -> Parser {
        let prog = self.prog;
        let subcommands = self
            .subcommands
            .as_mut()
            .expect("subcommands() comes before subcommand()");
        subcommands.commands.push(Subcommand {
            name,
            help,
            parser: Parser {
                prog,
                command: Some(name),
                ..parser
            },
        });
        self
    }

    /// Parses `args` as `parseArgs` does, at the terminal's width.
    pub fn parse(&self, args: &[String]) -> Parsed {
        self.parse_at_width(args, format_width())
    }

    /// [`Parser::parse`] at a given width.
    pub fn parse_at_width(&self, args: &[String], width: usize) -> Parsed {
        let mut state = State {
            args,
            index: 0,
            consumed_separator: false,
            deferred: None,
        };
        let mut namespace = Namespace::default();
        let result = self.parse_into(&mut state, &mut namespace).and_then(|()| {
            match state.deferred.take() {
                Some(error) => Err(Outcome::Error(error)),
                None => Ok(()),
            }
        });
        match result {
            Ok(()) => Parsed::Args(namespace),
            Err(Outcome::Help(None)) => Parsed::Help(self.format_help(None, width)),
            Err(Outcome::Help(Some(command))) => {
                Parsed::Help(self.subparser(Some(command)).format_help(Some(self), width))
            }
            Err(Outcome::Version) => Parsed::Version,
            Err(Outcome::Error(error)) => Parsed::Error(self.render_error(&error, width)),
        }
    }

    fn subparser(&self, name: Option<&str>) -> &Parser {
        match (name, &self.subcommands) {
            (Some(name), Some(subcommands)) => subcommands
                .commands
                .iter()
                .find(|c| c.name == name)
                .map_or(self, |c| &c.parser),
            _ => self,
        }
    }

    fn error(&self, message: String) -> Outcome {
        self.error_with(message, Suggestions::None)
    }

    fn error_with(&self, message: String, suggestions: Suggestions) -> Outcome {
        Outcome::Error(ParseError {
            parser: self.command,
            message,
            suggestions,
        })
    }

    /// `resolveNextFlag`: the argument named by `flag` or by it as a unique prefix.
    fn resolve_flag(&self, flag: &str) -> Result<Option<&Argument>, Outcome> {
        let all = || {
            self.arguments
                .iter()
                .flat_map(|a| a.flags.iter().map(move |f| (*f, a)))
        };
        if let Some((_, argument)) = all().find(|(f, _)| *f == flag) {
            return Ok(Some(argument));
        }
        let mut candidates: Vec<(&str, &Argument)> =
            all().filter(|(f, _)| f.starts_with(flag)).collect();
        if candidates.is_empty() {
            return Ok(None);
        }
        let concatenated_short = self.is_concatenated_short_flags(flag);
        if candidates.len() == 1 && !concatenated_short {
            return Ok(Some(candidates[0].1));
        }
        let mut names: Vec<&str> = candidates.drain(..).map(|(f, _)| f).collect();
        if concatenated_short {
            names.push(&flag[..2]);
        }
        names.sort_unstable();
        Err(self.error(format!(
            "ambiguous option: {flag} could match {}",
            names.join(", ")
        )))
    }

    /// `checkConcatenatedShortOpts`: `-abc` where `-a`, `-b`, … are all short flags (or
    /// one that takes a value comes first).
    fn is_concatenated_short_flags(&self, term: &str) -> bool {
        let Some(rest) = term
            .strip_prefix('-')
            .filter(|r| !r.starts_with('-') && !r.is_empty())
        else {
            return false;
        };
        for c in rest.chars() {
            let short = format!("-{c}");
            match self
                .arguments
                .iter()
                .find(|a| a.flags.contains(&short.as_str()))
            {
                None => return false,
                Some(a) if a.consumes_value() => return true,
                Some(_) => {}
            }
        }
        true
    }

    fn parse_into(&self, state: &mut State<'_>, namespace: &mut Namespace) -> Result<(), Outcome> {
        for argument in &self.arguments {
            if let Some(default) = &argument.default {
                namespace
                    .values
                    .insert(argument.dest.clone(), default.clone());
            }
        }
        let mut used: Vec<&str> = Vec::new();
        while state.available() {
            let term = state.arg().to_string();
            if state.is_flag(&term) && term != "--" {
                let (flag, mut embedded) = match term.split_once('=') {
                    Some((flag, value)) => (flag, Some(value.to_string())),
                    None => (term.as_str(), None),
                };
                let mut argument = self.resolve_flag(flag)?;
                if argument.is_none() {
                    embedded = None;
                    let mut found = false;
                    if term.starts_with('-') && !term.starts_with("--") {
                        // Concatenated short flags: `-hv`, `-x5`.
                        found = true;
                        let chars: Vec<char> = term.chars().skip(1).collect();
                        for (i, c) in chars.iter().enumerate() {
                            let short = format!("-{c}");
                            let Some(a) = self
                                .arguments
                                .iter()
                                .find(|a| a.flags.contains(&short.as_str()))
                            else {
                                found = false;
                                break;
                            };
                            if a.consumes_value() {
                                let rest: String = chars[i + 1..].iter().collect();
                                if !rest.is_empty() {
                                    embedded = Some(rest);
                                }
                                argument = Some(a);
                                break;
                            }
                            self.run_flag_action(a)?;
                            used.push(&a.dest);
                        }
                    }
                    if !found {
                        return Err(self.error_with(
                            format!("unrecognized arguments: '{term}'"),
                            Suggestions::Flag(term.trim_start_matches('-').to_string()),
                        ));
                    }
                }
                state.index += 1;
                if let Some(argument) = argument {
                    self.process(argument, embedded, state, namespace)?;
                    used.push(&argument.dest);
                }
            } else if term == "--" && !state.consumed_separator {
                state.consumed_separator = true;
                state.index += 1;
            } else if let (false, Some(subcommands)) = (state.consumed_separator, &self.subcommands)
            {
                self.check_required(state, &used);
                let command = self.resolve_command(subcommands, &term)?;
                state.index += 1;
                command.parser.parse_into(state, namespace)?;
                namespace.command = Some(command.name.to_string());
                return Ok(());
            } else {
                return Err(self.error(format!(
                    "unrecognized arguments: '{}'",
                    state.args[state.index..].join(" ")
                )));
            }
        }
        if self.subcommands.is_some() {
            return Err(self.error("too few arguments".to_string()));
        }
        self.check_required(state, &used);
        Ok(())
    }

    /// Runs the action of a flag that takes no value.
    fn run_flag_action(&self, argument: &Argument) -> Result<(), Outcome> {
        match argument.action {
            Action::Help => Err(Outcome::Help(self.command)),
            Action::Version => Err(Outcome::Version),
            Action::Store(_) => Ok(()),
        }
    }

    /// `processArg` for an optional argument.
    fn process(
        &self,
        argument: &Argument,
        embedded: Option<String>,
        state: &mut State<'_>,
        namespace: &mut Namespace,
    ) -> Result<(), Outcome> {
        let Action::Store(value_type) = argument.action else {
            if let Some(value) = embedded {
                return Err(
                    self.argument_error(argument, &format!("ignore implicit argument '{value}'"))
                );
            }
            return self.run_flag_action(argument);
        };
        let value = match embedded {
            Some(value) => value,
            None if state.available() && !state.is_flag(state.arg()) => {
                let value = state.arg().to_string();
                state.index += 1;
                value
            }
            None => return Err(self.argument_error(argument, "expected one argument")),
        };
        let converted = convert(&value, value_type)
            .map_err(|message| self.argument_error(argument, &message))?;
        namespace.values.insert(argument.dest.clone(), converted);
        Ok(())
    }

    fn argument_error(&self, argument: &Argument, message: &str) -> Outcome {
        self.error(format!("argument {}: {message}", argument.textual_name()))
    }

    /// `checkRequiredArgument`: the *last* required argument not given is the one
    /// reported, and only if no earlier check left an error.
    fn check_required(&self, state: &mut State<'_>, used: &[&str]) {
        if state.deferred.is_some() {
            return;
        }
        for argument in &self.arguments {
            if argument.required && !used.contains(&argument.dest.as_str()) {
                if let Outcome::Error(error) =
                    self.error(format!("argument {} is required", argument.textual_name()))
                {
                    state.deferred = Some(error);
                }
            }
        }
    }

    /// `SubparsersImpl.resolveNextSubparser`: a command by its name or a unique prefix.
    fn resolve_command<'s>(
        &self,
        subcommands: &'s Subcommands,
        term: &str,
    ) -> Result<&'s Subcommand, Outcome> {
        if !term.is_empty() {
            if let Some(command) = subcommands.commands.iter().find(|c| c.name == term) {
                return Ok(command);
            }
            let mut candidates: Vec<&Subcommand> = subcommands
                .commands
                .iter()
                .filter(|c| c.name.starts_with(term))
                .collect();
            if candidates.len() == 1 {
                return Ok(candidates[0]);
            }
            if candidates.len() > 1 {
                candidates.sort_by_key(|c| c.name);
                let names: Vec<&str> = candidates.iter().map(|c| c.name).collect();
                return Err(self.error(format!(
                    "ambiguous command: {term} could match {}",
                    names.join(", ")
                )));
            }
        }
        let choices: Vec<String> = subcommands
            .commands
            .iter()
            .map(|c| format!("'{}'", c.name))
            .collect();
        Err(self.error_with(
            format!(
                "invalid choice: '{term}' (choose from {})",
                choices.join(", ")
            ),
            Suggestions::Command(term.to_string()),
        ))
    }

    // ---- Text: usage, help, errors. ----

    /// `printUsage`: `usage: <prog>` and the syntax of every argument, wrapped under
    /// the program name.
    fn format_usage(&self, main: Option<&Parser>, width: usize) -> String {
        let usage_prog = format!("usage: {}", self.prog);
        let mut out = usage_prog.clone();
        let prog_width = text_width(&usage_prog);
        let (offset, first_indent, subsequent_indent) = if prog_width > USAGE_INDENT_MAX {
            out.push('\n');
            (6, " ".repeat(6), " ".repeat(6))
        } else {
            (prog_width, String::new(), " ".repeat(prog_width))
        };
        let mut syntaxes: Vec<String> = Vec::new();
        if let Some(main) = main {
            // `addUpperParserUsage`: the main parser's required arguments first.
            syntaxes.extend(
                main.arguments
                    .iter()
                    .filter(|a| a.required)
                    .map(Argument::short_syntax),
            );
        }
        if let Some(command) = self.command {
            syntaxes.push(command.to_string());
        }
        syntaxes.extend(self.arguments.iter().map(Argument::short_syntax));
        if let Some(subcommands) = &self.subcommands {
            syntaxes.push(subcommands.metavar.to_string());
            syntaxes.push("...".to_string());
        }
        // `printArgumentUsage`.
        let mut current = offset + first_indent.len();
        out.push_str(&first_indent);
        let mut first = true;
        for syntax in &syntaxes {
            let syntax_width = text_width(syntax);
            if !first && current + syntax_width + 1 > width {
                out.push('\n');
                out.push_str(&subsequent_indent);
                out.push(' ');
                out.push_str(syntax);
                current = subsequent_indent.len() + 1 + syntax_width;
            } else {
                out.push(' ');
                out.push_str(syntax);
                current += 1 + syntax_width;
                first = false;
            }
        }
        out.push('\n');
        out
    }

    /// `printHelp`: usage, description, the arguments outside any group, the
    /// subcommands, then each group. `main`: the parser of which this is a subcommand.
    fn format_help(&self, main: Option<&Parser>, width: usize) -> String {
        let mut out = self.format_usage(main, width);
        if !self.description.is_empty() {
            out.push('\n');
            out.push_str(&wrap(self.description, width, 0, "", ""));
            out.push('\n');
        }
        let ungrouped: Vec<&Argument> = self
            .arguments
            .iter()
            .filter(|a| a.group.is_none())
            .collect();
        if !ungrouped.is_empty() {
            out.push_str("\noptional arguments:\n");
            for argument in ungrouped {
                out.push_str(&help_entry(&argument.help_title(), argument.help, width));
            }
        }
        if let Some(subcommands) = &self.subcommands {
            out.push('\n');
            out.push_str(subcommands.title);
            out.push_str(":\n");
            out.push_str(&help_entry(subcommands.metavar, "", width));
            for command in &subcommands.commands {
                if !command.help.is_empty() {
                    out.push_str(&help_entry(
                        &format!("  {}", command.name),
                        command.help,
                        width,
                    ));
                }
            }
        }
        for (index, group) in self.groups.iter().enumerate() {
            out.push('\n');
            if !group.title.is_empty() {
                out.push_str(group.title);
                out.push_str(":\n");
            }
            if !group.description.is_empty() {
                out.push_str("  ");
                out.push_str(&wrap(group.description, width, 2, "", "  "));
                out.push_str("\n\n");
            }
            for argument in self.arguments.iter().filter(|a| a.group == Some(index)) {
                out.push_str(&help_entry(&argument.help_title(), argument.help, width));
            }
        }
        out
    }

    /// `handleError`: the failing parser's usage, `<prog>: error: <message>` wrapped,
    /// and for an unknown option or command the nearest names.
    fn render_error(&self, error: &ParseError, width: usize) -> String {
        let (parser, main) = match error.parser {
            Some(name) => (self.subparser(Some(name)), Some(self)),
            None => (self, None),
        };
        let mut out = parser.format_usage(main, width);
        out.push_str(&wrap(
            &format!("{}: error: {}\n", self.prog, error.message),
            width,
            0,
            "",
            "",
        ));
        let (body, subjects): (&str, Vec<(String, String)>) = match &error.suggestions {
            Suggestions::None => return out,
            Suggestions::Flag(body) if body.chars().count() >= 2 => (
                body,
                parser
                    .arguments
                    .iter()
                    .flat_map(|a| a.flags.iter())
                    .map(|f| (f.to_string(), f.trim_start_matches('-').to_string()))
                    .filter(|(_, body)| body.chars().count() > 1)
                    .collect(),
            ),
            Suggestions::Flag(_) => return out,
            Suggestions::Command(command) => (
                command,
                self.subcommands
                    .iter()
                    .flat_map(|s| s.commands.iter())
                    .map(|c| (c.name.to_string(), c.name.to_string()))
                    .collect(),
            ),
        };
        out.push_str(&candidates(body, &subjects));
        out
    }
}

/// Why a parse stopped early.
enum Outcome {
    /// `-h` of the top parser (`None`) or of a subcommand.
    Help(Option<&'static str>),
    Version,
    Error(ParseError),
}

/// `ReflectArgumentType.convert` with Java's `valueOf` and its messages.
fn convert(value: &str, value_type: ValueType) -> Result<Value, String> {
    let type_name = match value_type {
        ValueType::String => return Ok(Value::String(value.to_string())),
        ValueType::Integer => "Integer",
        ValueType::Long => "Long",
        ValueType::Short => "Short",
    };
    let failed = |reason: String| format!("could not convert '{value}' to {type_name} ({reason})");
    let for_input = || failed(format!("For input string: \"{value}\""));
    // Java's `parseInt`/`parseLong`: an optional sign, then decimal digits.
    let digits = value.strip_prefix(['-', '+']).unwrap_or(value);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(for_input());
    }
    match value_type {
        ValueType::Long => value
            .parse::<i64>()
            .map(Value::Integer)
            .map_err(|_| for_input()),
        ValueType::Integer => value
            .parse::<i32>()
            .map(|n| Value::Integer(n.into()))
            .map_err(|_| for_input()),
        ValueType::Short => {
            // `parseShort` parses an int first, then checks the range.
            let n = value.parse::<i32>().map_err(|_| for_input())?;
            i16::try_from(n)
                .map(|n| Value::Integer(n.into()))
                .map_err(|_| failed(format!("Value out of range. Value:\"{value}\" Radix:10")))
        }
        ValueType::String => unreachable!("returned above"),
    }
}

/// `TextHelper.printHelp`: `  <title>`, then the help text from column 25 (on the
/// next line when the title is wider than 21), wrapped and justified.
fn help_entry(title: &str, help: &str, width: usize) -> String {
    let mut out = format!("  {title}");
    if help.is_empty() {
        out.push('\n');
        return out;
    }
    let title_width = text_width(title);
    let indent = if title_width <= HELP_INDENT_WIDTH - 4 {
        HELP_INDENT_WIDTH - (title_width + 2)
    } else {
        out.push('\n');
        HELP_INDENT_WIDTH
    };
    out.push_str(&" ".repeat(indent));
    out.push_str(&wrap(
        help,
        width,
        HELP_INDENT_WIDTH,
        "",
        &" ".repeat(HELP_INDENT_WIDTH),
    ));
    out.push('\n');
    out
}

/// `printCandidates`: the subjects nearest to `body` (a prefix match is nearest), by
/// git's weights of Damerau–Levenshtein distance; nothing when even the nearest is 7 or
/// more away.
fn candidates(body: &str, subjects: &[(String, String)]) -> String {
    let mut ranked: Vec<(usize, &str)> = subjects
        .iter()
        .map(|(subject, subject_body)| {
            let similarity = if subject_body.starts_with(body) {
                0
            } else {
                levenshtein(body, subject_body, 0, 2, 1, 4)
            };
            (similarity, subject.as_str())
        })
        .collect();
    if ranked.is_empty() {
        return String::new();
    }
    // `Candidate.compareTo`: by similarity, then by name (Java's `String.compareTo`
    // orders UTF-16 code units, which for these ASCII names is byte order).
    ranked.sort();
    let threshold = ranked[0].0;
    if threshold >= 7 {
        return String::new();
    }
    let mut out = String::from("\nDid you mean:\n");
    for (similarity, subject) in ranked {
        if similarity > threshold {
            break;
        }
        out.push('\t');
        out.push_str(subject);
        out.push('\n');
    }
    out
}

/// argparse4j's `levenshtein(a, b, swap, sub, add, del)` (the Damerau variant git uses),
/// over UTF-16 code units as Java's `charAt`.
fn levenshtein(a: &str, b: &str, swap: usize, sub: usize, add: usize, del: usize) -> usize {
    let a: Vec<u16> = a.encode_utf16().collect();
    let b: Vec<u16> = b.encode_utf16().collect();
    let mut dp = [
        vec![0usize; b.len() + 1],
        (0..=b.len()).collect(),
        vec![0usize; b.len() + 1],
    ];
    for i in 1..=a.len() {
        dp[0][0] = i;
        for j in 1..=b.len() {
            let mut best = dp[1][j - 1] + if a[i - 1] == b[j - 1] { 0 } else { sub };
            if i >= 2
                && j >= 2
                && a[i - 1] != b[j - 1]
                && a[i - 2] == b[j - 1]
                && a[i - 1] == b[j - 2]
            {
                best = best.min(dp[2][j - 2] + swap);
            }
            dp[0][j] = best.min((dp[1][j] + del).min(dp[0][j - 1] + add));
        }
        // argparse4j's `temp = dp[2]; dp[2] = dp[1]; dp[1] = dp[0]; dp[0] = temp`.
        dp.rotate_right(1);
    }
    dp[1][b.len()]
}

/// The width of `text` as argparse4j's `ASCIITextWidthCounter` counts it (UTF-16 units).
fn text_width(text: &str) -> usize {
    text.encode_utf16().count()
}

/// `ArgumentParsers.getFormatWidth()`: the terminal's width less 5, found as argparse4j
/// finds it (`$COLUMNS`, else `stty -a < /dev/tty`), else 75.
pub fn format_width() -> usize {
    let columns: i64 = match std::env::var("COLUMNS") {
        Ok(value) => value.trim().parse().unwrap_or(-1),
        Err(_) => stty_columns().unwrap_or(-1),
    };
    let width = columns - 5;
    if width <= 0 {
        DEFAULT_FORMAT_WIDTH
    } else {
        usize::try_from(width).unwrap_or(DEFAULT_FORMAT_WIDTH)
    }
}

/// The controlling terminal's columns, by the command argparse4j runs.
fn stty_columns() -> Option<i64> {
    let pattern = if cfg!(target_os = "macos") {
        regex::Regex::new(r"(\d+) columns")
    } else if cfg!(target_os = "linux") {
        regex::Regex::new(r"columns (\d+)")
    } else {
        return None;
    }
    .ok()?;
    let output = std::process::Command::new("sh")
        .args(["-c", "stty -a < /dev/tty"])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&output.stdout);
    pattern.captures(&text)?.get(1)?.as_str().parse().ok()
}

// ---- Java's line breaking and argparse4j's justification. ----

/// What a character is to the JDK's line-break rules (`LineBreakRules` in
/// `sun.text.resources.BreakIteratorRules`, which `BreakIterator.getLineInstance()`
/// runs). A character may be in several sets (`"` opens and closes words, `.` ends a
/// word or sits inside a number, `$` and `'` open words and join them).
#[derive(Debug, Clone, Copy, Default)]
struct LineClass {
    /// `<break>`: the piece ends after it.
    hard_break: bool,
    /// `<ignore>`: format characters, invisible to the rules.
    ignore: bool,
    enclosing: bool,
    glue: bool,
    space: bool,
    dash: bool,
    pre_word: bool,
    post_word: bool,
    kanji: bool,
    digit: bool,
    mid_num: bool,
    /// `<char>`: everything not mentioned above (letters, most symbols).
    other: bool,
    carriage_return: bool,
    /// `<hack1>`, `<hack2>`: `(` and `)`, kept at a word's end as `()`.
    open_paren: bool,
    close_paren: bool,
    /// `<hack3>`: `$` and `'`, which join the words around them.
    joiner: bool,
}

/// The Unicode general categories the rules name.
struct Categories {
    format: regex::Regex,
    control: regex::Regex,
    enclosing: regex::Regex,
    space_separator: regex::Regex,
    dash: regex::Regex,
    pre_word: regex::Regex,
    post_word: regex::Regex,
    digit: regex::Regex,
}

fn categories() -> &'static Categories {
    static CATEGORIES: std::sync::OnceLock<Categories> = std::sync::OnceLock::new();
    CATEGORIES.get_or_init(|| {
        let class = |pattern: &str| {
            regex::Regex::new(&format!("^[{pattern}]$")).expect("a valid character class")
        };
        Categories {
            format: class(r"\p{Cf}"),
            control: class(r"\p{Cc}"),
            enclosing: class(r"\p{Mn}\p{Me}"),
            space_separator: class(r"\p{Zs}"),
            dash: class(r"\p{Pd}"),
            pre_word: class(r"\p{Sc}\p{Ps}\p{Pi}"),
            post_word: class(r"\p{Pe}\p{Pf}"),
            digit: class(r"\p{Nd}\p{No}"),
        }
    })
}

fn line_class(c: char) -> LineClass {
    let categories = categories();
    let is = |re: &regex::Regex| {
        let mut buf = [0u8; 4];
        re.is_match(c.encode_utf8(&mut buf))
    };
    let hard_break = matches!(c, '\u{3}' | '\t' | '\n' | '\u{c}' | '\u{2028}' | '\u{2029}');
    let carriage_return = c == '\r';
    let glue = matches!(
        c,
        '\u{a0}' | '\u{f0c}' | '\u{2007}' | '\u{2011}' | '\u{202f}' | '\u{feff}'
    );
    // A character the rules also name elsewhere is not ignored: the soft hyphen is a
    // dash, control characters are spaces (as the JDK's iterator treats them).
    let ignore = is(&categories.format) && c != '\u{ad}' && !glue;
    let space = (is(&categories.space_separator) || is(&categories.control))
        && !glue
        && !hard_break
        && !carriage_return;
    let dash = (is(&categories.dash) || c == '\u{ad}') && !glue;
    let pre_word = (is(&categories.pre_word) && c != '\u{a2}') || c == '"' || c == '\'';
    let post_word = is(&categories.post_word)
        || matches!(
            c,
            '"' | '!'
                | '%'
                | '.'
                | ','
                | ':'
                | ';'
                | '?'
                | '\u{a2}'
                | '\u{b0}'
                | '\u{66a}'
                | '\u{2030}'..='\u{2034}'
                | '\u{2103}'
                | '\u{2105}'
                | '\u{2109}'
                | '\u{3001}'
                | '\u{3002}'
                | '\u{3005}'
                | '\u{3041}'
                | '\u{3043}'
                | '\u{3045}'
                | '\u{3047}'
                | '\u{3049}'
                | '\u{3063}'
                | '\u{3083}'
                | '\u{3085}'
                | '\u{3087}'
                | '\u{308e}'
                | '\u{3099}'..='\u{309e}'
                | '\u{30a1}'
                | '\u{30a3}'
                | '\u{30a5}'
                | '\u{30a7}'
                | '\u{30a9}'
                | '\u{30c3}'
                | '\u{30e3}'
                | '\u{30e5}'
                | '\u{30e7}'
                | '\u{30ee}'
                | '\u{30f5}'
                | '\u{30f6}'
                | '\u{30fc}'..='\u{30fe}'
                | '\u{ff01}'
                | '\u{ff05}'
                | '\u{ff0c}'
                | '\u{ff0e}'
                | '\u{ff1a}'
                | '\u{ff1b}'
                | '\u{ff1f}'
        );
    let kanji = matches!(
        c,
        '\u{4e00}'..='\u{9fa5}'
            | '\u{ac00}'..='\u{d7a3}'
            | '\u{f900}'..='\u{fa2d}'
            | '\u{fa30}'..='\u{fa6a}'
            | '\u{3041}'..='\u{3094}'
            | '\u{30a1}'..='\u{30fa}'
    ) && !post_word
        && !ignore;
    let digit = is(&categories.digit);
    let mid_num = matches!(c, '.' | ',');
    let danda = matches!(c, '\u{964}' | '\u{965}');
    let other = !(hard_break
        || space
        || dash
        || kanji
        || glue
        || ignore
        || pre_word
        || post_word
        || mid_num
        || carriage_return
        || danda);
    LineClass {
        hard_break,
        ignore,
        enclosing: is(&categories.enclosing),
        glue,
        space,
        dash,
        pre_word,
        post_word,
        kanji,
        digit,
        mid_num,
        other,
        carriage_return,
        open_paren: c == '(',
        close_paren: c == ')',
        joiner: c == '$' || c == '\'',
    }
}

/// Splits `text` where Java's line `BreakIterator` may break it, by the JDK's rules:
///
/// ```text
/// <number>      = [<pre-word><dash>]* <digit>+ (<mid-num> <digit>+)*
/// <word-core>   = <char>* | <kanji> | <number>
/// <word-suffix> = <dash>+ | <post-word>*
/// <word>        = <pre-word>* <word-core> <word-suffix>
/// piece         = <word> (((<space>* <glue>+ <space>?) | [$']) <word>)* <space>*
///                 <enclosing>* ("()" <post-word>*)? <enclosing>* \r? <break>?
/// ```
///
/// each piece the longest match at its start (one character when nothing matches);
/// `<ignore>` characters stay with the character before them. Checked against the JDK 17
/// iterator on thousands of random texts: it differs only on a few mixes of
/// non-breaking spaces, `$`/`'` and dashes, where the JDK's compiled rules bend.
fn line_pieces(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let all: Vec<LineClass> = chars.iter().map(|c| line_class(*c)).collect();
    // The rules run over the characters that are not ignored.
    let kept: Vec<usize> = (0..chars.len()).filter(|i| !all[*i].ignore).collect();
    let classes: Vec<LineClass> = kept.iter().map(|i| all[*i]).collect();
    let mut pieces = Vec::new();
    let mut position = 0;
    while position < chars.len() {
        let start = kept.partition_point(|i| *i < position);
        if start == kept.len() {
            // Only ignored characters are left: they make one piece.
            pieces.push(chars[position..].iter().collect());
            break;
        }
        let end = piece_end(&classes, start);
        // Where no rule matches, the iterator moves on by one character.
        let piece_end = if end == start {
            position + 1
        } else {
            kept.get(end).copied().unwrap_or(chars.len())
        };
        pieces.push(chars[position..piece_end].iter().collect());
        position = piece_end;
    }
    pieces
}

/// Where the longest piece starting at `start` ends.
fn piece_end(c: &[LineClass], start: usize) -> usize {
    let n = c.len();
    let is = |i: usize, f: fn(&LineClass) -> bool| i < n && f(&c[i]);
    // `\r<break>` is a rule of its own.
    if is(start, |k| k.carriage_return) && is(start + 1, |k| k.hard_break) {
        return start + 2;
    }
    // Every place a run of joined words may end.
    let mut word_chain_ends: std::collections::BTreeSet<usize> = Default::default();
    let mut word_starts = vec![start];
    let mut seen_starts = vec![start];
    while let Some(word_start) = word_starts.pop() {
        for end in word_ends(c, word_start) {
            if !word_chain_ends.insert(end) {
                continue;
            }
            let mut next = Vec::new();
            if is(end, |k| k.joiner) {
                next.push(end + 1);
            }
            let mut j = end;
            while is(j, |k| k.space) {
                j += 1;
            }
            if is(j, |k| k.glue) {
                while is(j, |k| k.glue) {
                    j += 1;
                }
                next.push(j);
                if is(j, |k| k.space) {
                    next.push(j + 1);
                }
            }
            for s in next {
                if !seen_starts.contains(&s) {
                    seen_starts.push(s);
                    word_starts.push(s);
                }
            }
        }
    }
    word_chain_ends
        .into_iter()
        .map(|end| {
            let mut j = end;
            while is(j, |k| k.space) {
                j += 1;
            }
            while is(j, |k| k.enclosing) {
                j += 1;
            }
            if is(j, |k| k.open_paren) && is(j + 1, |k| k.close_paren) {
                j += 2;
                while is(j, |k| k.post_word) {
                    j += 1;
                }
            }
            while is(j, |k| k.enclosing) {
                j += 1;
            }
            if is(j, |k| k.carriage_return) {
                j += 1;
            }
            if is(j, |k| k.hard_break) {
                j += 1;
            }
            j
        })
        .max()
        .unwrap_or(start)
}

/// Every place a `<word>` starting at `start` may end.
fn word_ends(c: &[LineClass], start: usize) -> Vec<usize> {
    let n = c.len();
    let is = |i: usize, f: fn(&LineClass) -> bool| i < n && f(&c[i]);
    let mut core_ends = Vec::new();
    // `<pre-word>*`, stopping anywhere.
    let mut core_start = start;
    loop {
        // `<char>*`
        core_ends.push(core_start);
        let mut j = core_start;
        while is(j, |k| k.other) {
            j += 1;
            core_ends.push(j);
        }
        // `<kanji>`
        if is(core_start, |k| k.kanji) {
            core_ends.push(core_start + 1);
        }
        // `<number>`, after any of its `[<pre-word><dash>]*`.
        let mut digits_start = core_start;
        loop {
            if is(digits_start, |k| k.digit) {
                let mut j = digits_start;
                while is(j, |k| k.digit) {
                    j += 1;
                }
                core_ends.push(j);
                while is(j, |k| k.mid_num) && is(j + 1, |k| k.digit) {
                    j += 1;
                    while is(j, |k| k.digit) {
                        j += 1;
                    }
                    core_ends.push(j);
                }
            }
            if is(digits_start, |k| k.pre_word || k.dash) {
                digits_start += 1;
            } else {
                break;
            }
        }
        if is(core_start, |k| k.pre_word) {
            core_start += 1;
        } else {
            break;
        }
    }
    let mut ends = Vec::new();
    for core_end in core_ends {
        ends.push(core_end);
        let mut j = core_end;
        while is(j, |k| k.dash) {
            j += 1;
            ends.push(j);
        }
        let mut j = core_end;
        while is(j, |k| k.post_word) {
            j += 1;
            ends.push(j);
        }
    }
    ends.sort_unstable();
    ends.dedup();
    ends
}

/// `TextHelper.wrap`: `text` in lines of at most `width` (the first starting at
/// `initial_offset`), every line but the last of a paragraph justified with spaces.
pub fn wrap(
    text: &str,
    width: usize,
    initial_offset: usize,
    initial_indent: &str,
    subsequent_indent: &str,
) -> String {
    let mut out = String::from(initial_indent);
    let mut line = String::new();
    let mut current = initial_offset + text_width(initial_indent);
    for piece in line_pieces(text) {
        let piece_width = text_width(&piece);
        current += piece_width;
        if current > width {
            out.push_str(&adjust_space(&line, width, current - piece_width));
            out.push('\n');
            out.push_str(subsequent_indent);
            line.clear();
            current = text_width(subsequent_indent) + piece_width;
        }
        line.push_str(&piece);
        if piece.ends_with('\n') {
            out.push_str(&line);
            out.push_str(subsequent_indent);
            line.clear();
            current = text_width(subsequent_indent);
        }
    }
    out.push_str(&line);
    out
}

/// `TextHelper.adjustSpace`: `line` without its outer spaces, its inner runs of spaces
/// widened until it fills `width` (the extra spaces going to the middle runs).
fn adjust_space(line: &str, width: usize, current_width: usize) -> String {
    let trimmed = line.trim_matches(' ');
    let current_width = current_width - (text_width(line) - text_width(trimmed));
    let chars: Vec<char> = trimmed.chars().collect();
    let blocks = chars
        .iter()
        .enumerate()
        .filter(|(i, c)| **c == ' ' && (*i == 0 || chars[i - 1] != ' '))
        .count();
    if blocks == 0 {
        return trimmed.to_string();
    }
    let need = width as i64 - current_width as i64;
    let each = need / blocks as i64;
    let remainder = need % blocks as i64;
    let remainder_start = (blocks as i64 - remainder + 1) / 2;
    let remainder_end = remainder_start + remainder;
    let mut out = String::new();
    let mut block = 0i64;
    for (i, c) in chars.iter().enumerate() {
        if *c == ' ' && (i == 0 || chars[i - 1] != ' ') {
            let extra = each + i64::from(remainder_start <= block && block < remainder_end);
            for _ in 0..extra.max(0) {
                out.push(' ');
            }
            block += 1;
        }
        out.push(*c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each text and its pieces as the JDK 17 line `BreakIterator` splits it.
    #[test]
    fn line_pieces_are_the_jdks() {
        let cases: &[(&str, &[&str])] = &[
            ("a -b c", &["a ", "-", "b ", "c"]),
            ("a --b", &["a ", "--", "b"]),
            ("x-1 y", &["x-", "1 ", "y"]),
            ("x-y", &["x-", "y"]),
            ("'describe-producers', 'abort'", &["'describe-", "producers', ", "'abort'"]),
            ("`host:port`  (multiple comma-separated", &["`host:", "port`  ", "(multiple ", "comma-", "separated"]),
            ("if < 0, all", &["if ", "< ", "0, ", "all"]),
            ("-h, --help", &["-", "h, ", "--", "help"]),
            ("a/b c", &["a/b ", "c"]),
            ("foo.bar baz", &["foo.", "bar ", "baz"]),
            ("(for brokers on 3.0 or above)", &["(for ", "brokers ", "on ", "3.0 ", "or ", "above)"]),
            ("x--y", &["x--", "y"]),
            ("5-a", &["5-", "a"]),
            ("a-5", &["a-", "5"]),
            ("A-B", &["A-", "B"]),
            ("é-b", &["é-", "b"]),
            ("a_b-c", &["a_b-", "c"]),
            ("a1 b", &["a1 ", "b"]),
            ("v1.2 ok", &["v1.", "2 ", "ok"]),
            ("abc123def", &["abc123def"]),
            ("x.y.z", &["x.", "y.", "z"]),
            ("a,b", &["a,", "b"]),
            ("(a)", &["(a)"]),
            ("a (b)", &["a ", "(b)"]),
            ("\"q\" x", &["\"q\" ", "x"]),
            ("[-h]", &["[-", "h]"]),
            ("'abort')", &["'abort')"]),
            ("-1, x", &["-1, ", "x"]),
            ("1-2", &["1-", "2"]),
            ("a=b", &["a=b"]),
            ("x:1", &["x:", "1"]),
            ("1:2", &["1:", "2"]),
            ("$5 x", &["$5 ", "x"]),
            ("a!b", &["a!", "b"]),
            ("a?b", &["a?", "b"]),
            ("a;b", &["a;", "b"]),
            ("a%b", &["a%", "b"]),
            ("100% x", &["100% ", "x"]),
            ("a\"b", &["a\"", "b"]),
            ("a)b", &["a)", "b"]),
            ("a]b", &["a]", "b"]),
            ("a}b", &["a}", "b"]),
            ("x(y", &["x", "(y"]),
            ("a'b", &["a'b"]),
            ("a--", &["a--"]),
            ("a-.b", &["a-", ".", "b"]),
            ("a.-b", &["a.", "-", "b"]),
            ("1.a", &["1.", "a"]),
            ("a.1", &["a.", "1"]),
            ("-", &["-"]),
            ("- x", &["- ", "x"]),
            ("  x", &["  ", "x"]),
            ("a\tb", &["a\t", "b"]),
            ("a\nb", &["a\n", "b"]),
            ("To Integer (For input string: \"x\")", &["To ", "Integer ", "(For ", "input ", "string: ", "\"x\")"]),
            ("Value:\"99999\" Radix:10)", &["Value:\"", "99999\" ", "Radix:", "10)"]),
            ("@x", &["@x"]),
            ("#x y", &["#x ", "y"]),
            ("a\\b", &["a\\b"]),
            ("a*b", &["a*b"]),
            ("a+b", &["a+b"]),
            ("a&b", &["a&b"]),
            ("a|b", &["a|b"]),
            ("a~b", &["a~b"]),
            ("a^b", &["a^b"]),
            ("1,000 x", &["1,000 ", "x"]),
            ("1.2.3", &["1.2.3"]),
            ("-1.5", &["-1.5"]),
            ("a..b", &["a..", "b"]),
            ("1..2", &["1..", "2"]),
                        ("1a b", &["1a ", "b"]),
            ("1a.2", &["1a.", "2"]),
            ("a-1.5", &["a-", "1.5"]),
            ("x -1.5", &["x ", "-1.5"]),
            ("-x", &["-", "x"]),
            ("--1", &["--1"]),
            ("a -1", &["a ", "-1"]),
            ("1,a", &["1,", "a"]),
            ("1.", &["1."]),
            ("-1-", &["-1-"]),
            ("x\"", &["x\""]),
            ("((a))", &["((a))"]),
            ("a((b", &["a", "((b"]),
            ("$(x)", &["$(x)"]),
            ("a$b", &["a$b"]),
            ("a $ b", &["a ", "$ ", "b"]),
            ("x -- y", &["x ", "-- ", "y"]),
            ("ab-- cd", &["ab-- ", "cd"]),
            ("-- x", &["-- ", "x"]),
            ("a- b", &["a- ", "b"]),
            ("a -", &["a ", "-"]),
            ("...", &["..."]),
            ("a...", &["a..."]),
            ("\"\"x", &["\"\"x"]),
            ("x\"\"", &["x\"\""]),
            ("a,,b", &["a,,", "b"]),
            ("a.,b", &["a.,", "b"]),
            ("1.,2", &["1.,", "2"]),
            ("(1.5)", &["(1.5)"]),
            ("(-1)", &["(-1)"]),
            ("1-", &["1-"]),
            ("'1'", &["'1'"]),
            ("a:-1", &["a:", "-1"]),
            ("1e5", &["1e5"]),
            ("x_1", &["x_1"]),
            ("Ω-b", &["Ω-", "b"]),
            ("'1,000' x", &["'1,000' ", "x"]),
            ("'1,000 x", &["'1,000 ", "x"]),
            ("a'1,000 x", &["a'1,000 ", "x"]),
            ("x 'abc' y", &["x ", "'abc' ", "y"]),
            ("'5'", &["'5'"]),
            ("'a", &["'a"]),
            ("5'x", &["5'x"]),
            ("'1.5'.", &["'1.5'."]),
            ("''1,0", &["''1,0"]),
            ("x'1,0", &["x'1,0"]),
            ("$1,000 x", &["$1,000 ", "x"]),
            ("('1,000')", &["('1,000')"]),
            ("\"1,000\"", &["\"1,000\""]),
            ("'a-b'", &["'a-", "b'"]),
            ("`1,000`", &["`1,", "000`"]),
            ("#1,000", &["#1,", "000"]),
            ("a1,000", &["a1,", "000"]),
            ("_1,0", &["_1,", "0"]),
            ("'1,000'x", &["'1,000'x"]),
            ("'-1,000'", &["'-1,000'"]),
            ("x(1,0 y", &["x", "(1,0 ", "y"]),
            ("x$1,0 y", &["x$1,0 ", "y"]),
            ("x'y1,0 y", &["x'y1,", "0 ", "y"]),
            ("'x1,0 y", &["'x1,", "0 ", "y"]),
            ("x'1,0'1,0 y", &["x'1,0'1,0 ", "y"]),
            ("1,0'1,0 y", &["1,0'1,0 ", "y"]),
            ("x'1,0x y", &["x'1,0", "x ", "y"]),
            ("x'1.5.6 y", &["x'1.5.6 ", "y"]),
            ("x\"1,0 y", &["x\"", "1,0 ", "y"]),
            ("x-1,0 y", &["x-", "1,0 ", "y"]),
            ("x#1,0 y", &["x#1,", "0 ", "y"]),
            ("a'b,c y", &["a'b,", "c ", "y"]),
            ("1'2,3 y", &["1'2,3 ", "y"]),
            ("'1,0,x y", &["'1,0,", "x ", "y"]),
            ("x'1,0-y", &["x'1,0-", "y"]),
            ("topic name to limit search to (required if --partition is specified)", &["topic ", "name ", "to ", "limit ", "search ", "to ", "(required ", "if ", "--", "partition ", "is ", "specified)"]),
            ("kafka-transactions.sh: error: invalid choice: 'frob' (choose from 'list', 'describe', 'describe-producers', 'abort', 'find-hanging', 'forceTerminateTransaction')\n", &["kafka-", "transactions.", "sh: ", "error: ", "invalid ", "choice: ", "'frob' ", "(choose ", "from ", "'list', ", "'describe', ", "'describe-", "producers', ", "'abort', ", "'find-", "hanging', ", "'forceTerminateTransaction')\n"]),
            // Format, control, glue, Kanji and currency characters.
            ("a\u{ad}b c", &["a\u{ad}", "b ", "c"]),
            ("x\u{200b}y z", &["x\u{200b}y ", "z"]),
            ("a\u{1}b c", &["a\u{1}", "b ", "c"]),
            ("\u{200b}\u{964}(", &["\u{200b}", "\u{964}", "("]),
            ("\u{964}\u{200b}\u{200b}\u{202f}a", &["\u{964}", "\u{200b}\u{200b}\u{202f}a"]),
            ("x\u{a0}y z", &["x\u{a0}y ", "z"]),
            ("\u{4e00}\u{4e8c} \u{4e09}", &["\u{4e00}", "\u{4e8c} ", "\u{4e09}"]),
            ("a\u{301}b-c d", &["a\u{301}b-", "c ", "d"]),
            ("\u{ab}\u{1}!", &["\u{ab}\u{1}", "!"]),
            ("b1\u{1}\u{a2}", &["b1\u{1}", "\u{a2}"]),
            ("\u{201c}quoted\u{201d} text", &["\u{201c}quoted\u{201d} ", "text"]),
            ("a\u{d}\nb", &["a\u{d}\n", "b"]),
            ("\u{20ac}5,00 x", &["\u{20ac}5,00 ", "x"]),
            ("50\u{a2} x", &["50\u{a2} ", "x"]),
            ("x\u{2014}y z", &["x\u{2014}", "y ", "z"]),
            ("a\u{3000}b", &["a\u{3000}", "b"]),
        ];
        for (text, expected) in cases {
            assert_eq!(line_pieces(text), *expected, "{text:?}");
        }
    }

    #[test]
    fn wrapped_lines_are_justified_to_the_width() {
        // As Kafka printed them at width 75.
        assert_eq!(
            wrap(
                "kafka-transactions.sh: error: argument --transactional-id: expected one argument\n",
                75,
                0,
                "",
                ""
            ),
            "kafka-transactions.sh: error:  argument  --transactional-id:  expected  one\nargument\n"
        );
        assert_eq!(
            help_entry(
                "--topic TOPIC",
                "topic name to limit search to (required if --partition is specified)",
                75
            ),
            "  --topic TOPIC          topic name to  limit  search  to  (required  if --\n                         partition is specified)\n"
        );
        // A title wider than 21 puts the help on the next line.
        assert_eq!(
            help_entry("--bootstrap-server host:port", "x", 75),
            "  --bootstrap-server host:port\n                         x\n"
        );
        // Text that fits is left alone.
        assert_eq!(wrap("a  b", 75, 0, "", ""), "a  b");
    }

    #[test]
    fn near_names_are_suggested_by_gits_distance() {
        // Swapping two letters costs nothing.
        assert_eq!(levenshtein("lsit", "list", 0, 2, 1, 4), 0);
        let commands: Vec<(String, String)> = [
            "list",
            "describe",
            "describe-producers",
            "abort",
            "find-hanging",
            "forceTerminateTransaction",
        ]
        .iter()
        .map(|c| (c.to_string(), c.to_string()))
        .collect();
        // As Kafka's tool answered.
        assert_eq!(candidates("lsit", &commands), "\nDid you mean:\n\tlist\n");
        assert_eq!(candidates("frob", &commands), "\nDid you mean:\n\tabort\n");
        assert_eq!(candidates("zzzzzzzzzz", &commands), "");
        // A prefix is as near as can be.
        assert_eq!(
            candidates("de", &commands),
            "\nDid you mean:\n\tdescribe\n\tdescribe-producers\n"
        );
    }

    #[test]
    fn values_convert_as_javas_value_of() {
        assert_eq!(convert("-5", ValueType::Integer), Ok(Value::Integer(-5)));
        assert_eq!(convert("+7", ValueType::Long), Ok(Value::Integer(7)));
        assert_eq!(
            convert("2147483648", ValueType::Integer),
            Err(
                "could not convert '2147483648' to Integer (For input string: \"2147483648\")"
                    .into()
            )
        );
        assert_eq!(
            convert("99999", ValueType::Short),
            Err(
                "could not convert '99999' to Short (Value out of range. Value:\"99999\" Radix:10)"
                    .into()
            )
        );
        assert_eq!(
            convert("", ValueType::Long),
            Err("could not convert '' to Long (For input string: \"\")".into())
        );
        assert_eq!(
            convert("x", ValueType::String),
            Ok(Value::String("x".into()))
        );
    }

    fn sample() -> Parser {
        Parser::new("tool.sh", "A tool.")
            .argument(Argument::new(&["--server"], ValueType::String, "the server").required())
            .subcommands("commands", "COMMAND")
            .subcommand(
                "show",
                "show things",
                Parser::new("tool.sh", "")
                    .argument(Argument::new(&["--count"], ValueType::Integer, "how many"))
                    .argument(Argument::new(&["--name"], ValueType::String, "a name").required())
                    .argument(Argument::new(&["--nap"], ValueType::Long, "a nap")),
            )
            .subcommand("shout", "shout things", Parser::new("tool.sh", ""))
    }

    fn parse(args: &[&str]) -> Parsed {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        sample().parse_at_width(&args, 75)
    }

    #[test]
    fn options_take_values_by_prefix_and_after_equals() {
        let args = ["--ser=s:1", "show", "--c", "-3", "--name", "n"];
        let Parsed::Args(ns) = parse(&args) else {
            panic!("{:?}", parse(&args));
        };
        assert_eq!(ns.command.as_deref(), Some("show"));
        assert_eq!(ns.string("server"), Some("s:1"));
        assert_eq!(ns.integer("count"), Some(-3));
        assert_eq!(ns.string("name"), Some("n"));
        assert_eq!(ns.integer("nap"), None);
    }

    /// The expected texts are argparse4j 0.7.0's for the same parser and arguments.
    #[test]
    fn errors_name_the_parser_that_failed() {
        let usage = "usage: tool.sh [-h] --server SERVER COMMAND ...\n";
        let show_usage =
            "usage: tool.sh --server SERVER show [-h] [--count COUNT] --name NAME\n               [--nap NAP]\n";
        let cases: &[(&[&str], String)] = &[
            (&[], format!("{usage}tool.sh: error: too few arguments\n")),
            // The main parser's missing option is reported after the subcommand parsed,
            // ahead of the subcommand's own.
            (
                &["show"],
                format!("{usage}tool.sh: error: argument --server is required\n"),
            ),
            (
                &["--server", "s", "show"],
                format!("{show_usage}tool.sh: error: argument --name is required\n"),
            ),
            (
                &["--server", "s", "sh"],
                format!("{usage}tool.sh: error: ambiguous command: sh could match shout, show\n"),
            ),
            (
                &["--server", "s", "show", "--na", "x"],
                format!("{show_usage}tool.sh: error: ambiguous option: --na could match --name, --nap\n"),
            ),
            (
                &["--server", "s", "show", "--nmae", "x"],
                format!("{show_usage}tool.sh: error: unrecognized arguments: '--nmae'\n\nDid you mean:\n\t--name\n"),
            ),
            (
                &["--server", "s", "show", "--name"],
                format!("{show_usage}tool.sh: error: argument --name: expected one argument\n"),
            ),
            (
                &["--server", "s", "--", "show"],
                format!("{usage}tool.sh: error: unrecognized arguments: 'show'\n"),
            ),
        ];
        for (args, expected) in cases {
            assert_eq!(parse(args), Parsed::Error(expected.clone()), "{args:?}");
        }
    }

    #[test]
    fn help_is_printed_by_the_parser_it_was_asked_of() {
        assert_eq!(
            parse(&["-h", "--bogus"]),
            Parsed::Help(
                "usage: tool.sh [-h] --server SERVER COMMAND ...\n\nA tool.\n\noptional arguments:\n  -h, --help             show this help message and exit\n  --server SERVER        the server\n\ncommands:\n  COMMAND\n    show                 show things\n    shout                shout things\n"
                    .into()
            )
        );
        let Parsed::Help(text) = parse(&["--server", "s", "shout", "-h"]) else {
            panic!("no help");
        };
        assert!(
            text.starts_with("usage: tool.sh --server SERVER shout [-h]\n"),
            "{text}"
        );
    }
}
