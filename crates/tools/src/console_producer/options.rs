//! Command-line parsing with the rules of joptsimple, the parser behind Kafka's console
//! tools: `--name value` or `--name=value`, any unambiguous prefix of a name (`--from-beg`),
//! options that take an optional argument (`--compression-codec` alone), repeatable
//! options (`--property a=b --property c=d`), and bare words ignored.
//!
//! Shared by the console producer and consumer; the messages are joptsimple's and
//! Kafka's `CommandLineUtils`' so that scripts and people see what Kafka prints.

use std::collections::BTreeMap;
use std::str::FromStr;

use crate::ToolError;

/// Whether an option takes an argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Takes {
    /// A flag: `--sync`.
    Nothing,
    /// `--topic t`: the argument is required.
    Value,
    /// `--compression-codec [codec]`: the argument may be left out.
    OptionalValue,
}

/// One option a tool accepts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Spec {
    pub(crate) name: &'static str,
    pub(crate) takes: Takes,
    pub(crate) help: &'static str,
}

pub(crate) const fn flag(name: &'static str, help: &'static str) -> Spec {
    Spec {
        name,
        takes: Takes::Nothing,
        help,
    }
}

pub(crate) const fn value(name: &'static str, help: &'static str) -> Spec {
    Spec {
        name,
        takes: Takes::Value,
        help,
    }
}

pub(crate) const fn optional_value(name: &'static str, help: &'static str) -> Spec {
    Spec {
        name,
        takes: Takes::OptionalValue,
        help,
    }
}

/// The options given on a command line, by their full names, in the order given.
#[derive(Debug, Default)]
pub(crate) struct Parsed {
    given: BTreeMap<&'static str, Vec<Option<String>>>,
}

impl Parsed {
    pub(crate) fn has(&self, name: &str) -> bool {
        self.given.contains_key(name)
    }

    /// The option's (first) argument, if it was given with one.
    pub(crate) fn value(&self, name: &str) -> Option<&str> {
        self.given
            .get(name)
            .and_then(|values| values.first())
            .and_then(|v| v.as_deref())
    }

    /// Every argument of a repeatable option, in command-line order.
    pub(crate) fn values(&self, name: &str) -> Vec<&str> {
        self.given
            .get(name)
            .map(|values| values.iter().filter_map(|v| v.as_deref()).collect())
            .unwrap_or_default()
    }

    /// The option's argument parsed as a number, as joptsimple's typed options do.
    pub(crate) fn number<T: FromStr>(&self, name: &str) -> Result<Option<T>, ToolError> {
        match self.value(name) {
            None => Ok(None),
            Some(text) => text.trim().parse::<T>().map(Some).map_err(|_| {
                ToolError::Usage(format!("Cannot parse argument '{text}' of option {name}"))
            }),
        }
    }

    /// Kafka's `CommandLineUtils.checkRequiredArgs` message.
    pub(crate) fn require(&self, name: &str) -> Result<&str, ToolError> {
        self.value(name)
            .ok_or_else(|| ToolError::Usage(format!("Missing required argument \"[{name}]\"")))
    }
}

/// Parses `args` against `specs`. `--help` and `--version` are always accepted.
pub(crate) fn parse(specs: &[Spec], args: &[String]) -> Result<Parsed, ToolError> {
    let mut parsed = Parsed::default();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        let Some(body) = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-')) else {
            continue; // joptsimple keeps bare words as non-option arguments; the tools ignore them.
        };
        if body.is_empty() {
            continue;
        }
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (body, None),
        };
        let spec = find(specs, name)?;
        let value = match spec.takes {
            Takes::Nothing => {
                if inline.is_some() {
                    return Err(ToolError::Usage(format!(
                        "Option {} does not take an argument",
                        spec.name
                    )));
                }
                None
            }
            Takes::Value => match inline {
                Some(v) => Some(v),
                None if i < args.len() => {
                    i += 1;
                    Some(args[i - 1].clone())
                }
                None => {
                    return Err(ToolError::Usage(format!(
                        "Option {} requires an argument",
                        spec.name
                    )))
                }
            },
            Takes::OptionalValue => match inline {
                Some(v) => Some(v),
                None if i < args.len() && !args[i].starts_with('-') => {
                    i += 1;
                    Some(args[i - 1].clone())
                }
                None => None,
            },
        };
        parsed.given.entry(spec.name).or_default().push(value);
    }
    Ok(parsed)
}

const HELP: Spec = flag("help", "Print usage information.");
const VERSION: Spec = flag("version", "Display Kafka version.");

/// The spec `name` stands for: an exact name, else the only name it is a prefix of.
fn find(specs: &[Spec], name: &str) -> Result<Spec, ToolError> {
    let all = || specs.iter().chain([&HELP, &VERSION]);
    if let Some(spec) = all().find(|s| s.name == name) {
        return Ok(*spec);
    }
    let matches: Vec<&Spec> = all().filter(|s| s.name.starts_with(name)).collect();
    match matches.as_slice() {
        [one] => Ok(**one),
        [] => Err(ToolError::Usage(format!(
            "{name} is not a recognized option"
        ))),
        many => Err(ToolError::Usage(format!(
            "Option {name} is ambiguous; possibilities: {}",
            many.iter()
                .map(|s| format!("'{}'", s.name))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// Parses `args` against `specs`; `None` when the command was `--help` or `--version`,
/// answered here.
pub(crate) fn parse_command(
    purpose: &str,
    specs: &[Spec],
    args: &[String],
) -> Result<Option<Parsed>, ToolError> {
    let opts = parse(specs, args)?;
    if opts.has("help") {
        print_help(purpose, specs);
        return Ok(None);
    }
    if opts.has("version") {
        println!("{}", env!("CARGO_PKG_VERSION"));
        return Ok(None);
    }
    Ok(Some(opts))
}

/// Prints `--help` output, Kafka style: the tool's purpose, then one line per option.
pub(crate) fn print_help(purpose: &str, specs: &[Spec]) {
    println!("{purpose}");
    println!("Option                                   Description");
    println!("------                                   -----------");
    for spec in specs.iter().chain([&HELP, &VERSION]) {
        let left = match spec.takes {
            Takes::Nothing => format!("--{}", spec.name),
            Takes::Value => format!("--{} <String>", spec.name),
            Takes::OptionalValue => format!("--{} [String]", spec.name),
        };
        println!("{left:<40} {}", spec.help);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPECS: &[Spec] = &[
        value("topic", ""),
        value("bootstrap-server", ""),
        value("broker-list", ""),
        flag("from-beginning", ""),
        optional_value("compression-codec", ""),
        value("property", ""),
    ];

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn accepts_separate_inline_and_abbreviated_forms() {
        let p = parse(
            SPECS,
            &args(&["--topic", "t", "--bootstrap-server=h:1", "--from-beg"]),
        )
        .unwrap();
        assert_eq!(p.value("topic"), Some("t"));
        assert_eq!(p.value("bootstrap-server"), Some("h:1"));
        assert!(p.has("from-beginning"));
    }

    #[test]
    fn optional_argument_may_be_left_out() {
        let p = parse(SPECS, &args(&["--compression-codec", "--topic", "t"])).unwrap();
        assert!(p.has("compression-codec"));
        assert_eq!(p.value("compression-codec"), None);
        let p = parse(SPECS, &args(&["--compression-codec", "zstd"])).unwrap();
        assert_eq!(p.value("compression-codec"), Some("zstd"));
    }

    #[test]
    fn repeated_options_keep_every_value_in_order() {
        let p = parse(SPECS, &args(&["--property", "a=1", "--property", "b=2"])).unwrap();
        assert_eq!(p.values("property"), vec!["a=1", "b=2"]);
    }

    #[test]
    fn unknown_ambiguous_and_missing_arguments_are_usage_errors() {
        let err = parse(SPECS, &args(&["--nope"])).unwrap_err();
        assert_eq!(err.to_string(), "nope is not a recognized option");
        let err = parse(SPECS, &args(&["--b", "x"])).unwrap_err();
        assert!(err.to_string().contains("ambiguous"), "{err}");
        let err = parse(SPECS, &args(&["--topic"])).unwrap_err();
        assert_eq!(err.to_string(), "Option topic requires an argument");
        let p = parse(SPECS, &args(&[])).unwrap();
        assert_eq!(
            p.require("topic").unwrap_err().to_string(),
            "Missing required argument \"[topic]\""
        );
    }
}
