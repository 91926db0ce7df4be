//! Go's text/template syntax, parsed into a tree: text, actions with pipelines,
//! `if`/`else if`/`else`, `range` (with `$i, $e :=`), `with`, `break`, `continue`,
//! variables, comments and the `{{-`/`-}}` trim markers.
//!
//! Not supported (refused with the action named): `define`, `template`, `block`.

use super::value::Value;

/// Why a template does not parse.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParseError {
    #[error("line {line}: unclosed action")]
    Unclosed { line: usize },
    #[error("line {line}: {message}")]
    Syntax { line: usize, message: String },
}

#[derive(Debug, Clone)]
pub(super) enum Node {
    Text(String),
    /// `{{pipeline}}`: printed unless it declares a variable.
    Action(Pipeline),
    If(Branches),
    With(Branches),
    Range {
        pipe: Pipeline,
        body: Vec<Node>,
        otherwise: Vec<Node>,
    },
    Break,
    Continue,
}

/// `if`/`with` and their `else if`/`else with` chain.
#[derive(Debug, Clone)]
pub(super) struct Branches {
    pub(super) arms: Vec<(Pipeline, Vec<Node>)>,
    pub(super) otherwise: Vec<Node>,
}

#[derive(Debug, Clone)]
pub(super) struct Pipeline {
    /// `$x :=` or `$i, $e :=` (or `=` when `assign`).
    pub(super) declare: Vec<String>,
    pub(super) assign: bool,
    pub(super) commands: Vec<Command>,
}

/// One command of a pipeline: an operand (a function or value) and its arguments.
#[derive(Debug, Clone)]
pub(super) struct Command {
    pub(super) args: Vec<Operand>,
}

#[derive(Debug, Clone)]
pub(super) enum Operand {
    /// `.Field.Chain` (empty: `.` itself).
    Dot(Vec<String>),
    /// `$name.Field.Chain` (`$` is the data passed to the template).
    Var(String, Vec<String>),
    /// `(pipeline).Field.Chain`.
    Sub(Box<Pipeline>, Vec<String>),
    Func(String),
    Literal(Value),
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Dot,
    /// `.Name` with no space before it: a field of what came before.
    Field(String),
    Var(String),
    Ident(String),
    Str(String),
    Int(i64),
    Float(f64),
    Pipe,
    Open,
    Close,
    Declare,
    Assign,
    Comma,
}

/// A token and whether white space came right before it.
type Spaced = (Token, bool);

/// Parses a whole template.
pub(super) fn parse(text: &str) -> Result<Vec<Node>, ParseError> {
    let items = split(text)?;
    let mut parser = Parser { items, at: 0 };
    let (nodes, end) = parser.list()?;
    match end {
        None => Ok(nodes),
        Some((keyword, line)) => Err(ParseError::Syntax {
            line,
            message: format!("unexpected {{{{{keyword}}}}}"),
        }),
    }
}

/// A piece of the template: text, or an action's tokens with its line.
enum Item {
    Text(String),
    Action(Vec<Spaced>, usize),
}

/// Splits text from actions, applying the trim markers and dropping comments.
fn split(text: &str) -> Result<Vec<Item>, ParseError> {
    let mut items = Vec::new();
    let mut rest = text;
    let mut trim_next = false;
    while !rest.is_empty() {
        let line = text[..text.len() - rest.len()].matches('\n').count() + 1;
        let Some(start) = rest.find("{{") else {
            push_text(&mut items, rest, trim_next, false);
            break;
        };
        let mut inner = &rest[start + 2..];
        let trim_before = inner.starts_with("- ")
            || inner.starts_with("-\t")
            || inner.starts_with("-\n")
            || inner.starts_with("-\r");
        if trim_before {
            inner = &inner[1..];
        }
        push_text(&mut items, &rest[..start], trim_next, trim_before);
        let end = find_close(inner).ok_or(ParseError::Unclosed { line })?;
        let mut action = &inner[..end];
        trim_next = false;
        if action.ends_with(" -")
            || action.ends_with("\t-")
            || action.ends_with("\n-")
            || action.ends_with("\r-")
        {
            action = &action[..action.len() - 1];
            trim_next = true;
        }
        rest = &inner[end + 2..];
        let trimmed = action.trim();
        if trimmed.starts_with("/*") {
            if !trimmed.ends_with("*/") {
                return Err(ParseError::Syntax {
                    line,
                    message: "unclosed comment".to_string(),
                });
            }
            continue;
        }
        items.push(Item::Action(lex(action, line)?, line));
    }
    Ok(items)
}

fn push_text(items: &mut Vec<Item>, text: &str, trim_start: bool, trim_end: bool) {
    let mut text = text;
    if trim_start {
        text = text.trim_start();
    }
    if trim_end {
        text = text.trim_end();
    }
    if !text.is_empty() {
        items.push(Item::Text(text.to_string()));
    }
}

/// Where the action's `}}` is, skipping strings (which may hold `}}`).
fn find_close(inner: &str) -> Option<usize> {
    let bytes = inner.as_bytes();
    let mut i = 0;
    while i + 1 < bytes.len() {
        match bytes[i] {
            b'"' | b'`' | b'\'' => {
                let quote = bytes[i];
                i += 1;
                while i < bytes.len() && bytes[i] != quote {
                    if bytes[i] == b'\\' && quote != b'`' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
            }
            b'}' if bytes[i + 1] == b'}' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

fn lex(action: &str, line: usize) -> Result<Vec<Spaced>, ParseError> {
    let syntax = |message: String| ParseError::Syntax { line, message };
    let chars: Vec<char> = action.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    let mut spaced = true;
    let word_end = |from: usize| {
        let mut j = from;
        while j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '_') {
            j += 1;
        }
        j
    };
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            spaced = true;
            i += 1;
            continue;
        }
        let token = match c {
            '|' => {
                i += 1;
                Token::Pipe
            }
            '(' => {
                i += 1;
                Token::Open
            }
            ')' => {
                i += 1;
                Token::Close
            }
            ',' => {
                i += 1;
                Token::Comma
            }
            ':' if chars.get(i + 1) == Some(&'=') => {
                i += 2;
                Token::Declare
            }
            '=' => {
                i += 1;
                Token::Assign
            }
            '.' if chars
                .get(i + 1)
                .is_some_and(|c| c.is_alphabetic() || *c == '_') =>
            {
                let end = word_end(i + 1);
                let name: String = chars[i + 1..end].iter().collect();
                i = end;
                Token::Field(name)
            }
            '.' if chars.get(i + 1).is_some_and(char::is_ascii_digit) => {
                let (token, end) = number(&chars, i).map_err(syntax)?;
                i = end;
                token
            }
            '.' => {
                i += 1;
                Token::Dot
            }
            '$' => {
                let end = word_end(i + 1);
                let name: String = chars[i..end].iter().collect();
                i = end;
                Token::Var(name)
            }
            '"' | '`' => {
                let (value, end) = string(&chars, i).map_err(syntax)?;
                i = end;
                Token::Str(value)
            }
            '\'' => {
                let (value, end) = string(&chars, i).map_err(syntax)?;
                let mut it = value.chars();
                match (it.next(), it.next()) {
                    (Some(c), None) => {
                        i = end;
                        Token::Int(i64::from(u32::from(c)))
                    }
                    _ => return Err(syntax(format!("malformed character constant '{value}'"))),
                }
            }
            c if c.is_ascii_digit()
                || ((c == '-' || c == '+')
                    && chars.get(i + 1).is_some_and(char::is_ascii_digit)) =>
            {
                let (token, end) = number(&chars, i).map_err(syntax)?;
                i = end;
                token
            }
            c if c.is_alphabetic() || c == '_' => {
                let end = word_end(i);
                let name: String = chars[i..end].iter().collect();
                i = end;
                Token::Ident(name)
            }
            other => return Err(syntax(format!("unexpected {other:?} in action"))),
        };
        tokens.push((token, spaced));
        spaced = false;
    }
    Ok(tokens)
}

fn number(chars: &[char], from: usize) -> Result<(Token, usize), String> {
    let mut end = from;
    while end < chars.len()
        && (chars[end].is_ascii_alphanumeric()
            || chars[end] == '.'
            || chars[end] == '_'
            || ((chars[end] == '-' || chars[end] == '+')
                && (end == from || matches!(chars[end - 1], 'e' | 'E'))))
    {
        end += 1;
    }
    let text: String = chars[from..end].iter().filter(|c| **c != '_').collect();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, text.trim_start_matches('+')),
    };
    let int = if let Some(hex) = digits.strip_prefix("0x").or(digits.strip_prefix("0X")) {
        i64::from_str_radix(hex, 16).ok()
    } else {
        digits.parse::<i64>().ok()
    };
    if let Some(i) = int {
        return Ok((Token::Int(if negative { -i } else { i }), end));
    }
    text.parse::<f64>()
        .map(|f| (Token::Float(f), end))
        .map_err(|_| format!("bad number syntax: {text:?}"))
}

fn string(chars: &[char], from: usize) -> Result<(String, usize), String> {
    let quote = chars[from];
    let mut value = String::new();
    let mut i = from + 1;
    while i < chars.len() {
        let c = chars[i];
        if c == quote {
            return Ok((value, i + 1));
        }
        if c == '\\' && quote != '`' {
            i += 1;
            let escaped = *chars.get(i).ok_or("unterminated quoted string")?;
            match escaped {
                'n' => value.push('\n'),
                't' => value.push('\t'),
                'r' => value.push('\r'),
                '\\' | '"' | '\'' => value.push(escaped),
                'u' => {
                    let hex: String = chars.iter().skip(i + 1).take(4).collect();
                    let code = u32::from_str_radix(&hex, 16)
                        .ok()
                        .and_then(char::from_u32)
                        .ok_or_else(|| format!("bad escape \\u{hex}"))?;
                    value.push(code);
                    i += 4;
                }
                other => return Err(format!("unknown escape sequence \\{other}")),
            }
        } else {
            value.push(c);
        }
        i += 1;
    }
    Err("unterminated quoted string".to_string())
}

struct Parser {
    items: Vec<Item>,
    at: usize,
}

/// The keyword (`end`, `else …`) that closed a list, and its line.
type ListEnd = Option<(String, usize)>;

impl Parser {
    /// Nodes up to an `{{end}}` or `{{else…}}` (returned, its tokens left for the caller
    /// in `self.pending_else`) or the end of the template.
    fn list(&mut self) -> Result<(Vec<Node>, ListEnd), ParseError> {
        let mut nodes = Vec::new();
        while self.at < self.items.len() {
            let index = self.at;
            self.at += 1;
            let (tokens, line) = match &self.items[index] {
                Item::Text(text) => {
                    nodes.push(Node::Text(text.clone()));
                    continue;
                }
                Item::Action(tokens, line) => (tokens.clone(), *line),
            };
            let syntax = |message: String| ParseError::Syntax { line, message };
            let keyword = match tokens.first() {
                Some((Token::Ident(word), _)) => word.as_str(),
                None => return Err(syntax("missing value for command".to_string())),
                _ => "",
            };
            match keyword {
                "end" | "else" => {
                    // Leave the action for the caller to read the rest of an `else if`.
                    self.at = index;
                    return Ok((nodes, Some((keyword.to_string(), line))));
                }
                "if" | "with" => {
                    let branches = self.branches(keyword, &tokens[1..], line)?;
                    nodes.push(if keyword == "if" {
                        Node::If(branches)
                    } else {
                        Node::With(branches)
                    });
                }
                "range" => {
                    let pipe = pipeline(&tokens[1..], line)?;
                    let (body, end) = self.list()?;
                    let otherwise = match self.close(end, line, "range")? {
                        Some(_) => self.else_list("range", line)?,
                        None => Vec::new(),
                    };
                    nodes.push(Node::Range {
                        pipe,
                        body,
                        otherwise,
                    });
                }
                "break" | "continue" if tokens.len() == 1 => nodes.push(if keyword == "break" {
                    Node::Break
                } else {
                    Node::Continue
                }),
                "define" | "template" | "block" => {
                    return Err(syntax(format!("{{{{{keyword}}}}} is not supported")))
                }
                _ => nodes.push(Node::Action(pipeline(&tokens, line)?)),
            }
        }
        Ok((nodes, None))
    }

    /// After a body: `None` at `{{end}}`, `Some(tokens after else)` at `{{else …}}`.
    fn close(
        &mut self,
        end: ListEnd,
        line: usize,
        what: &str,
    ) -> Result<Option<Vec<Spaced>>, ParseError> {
        let Some((keyword, _)) = end else {
            return Err(ParseError::Syntax {
                line,
                message: format!("unexpected EOF: {{{{{what}}}}} has no {{{{end}}}}"),
            });
        };
        let Item::Action(tokens, _) = &self.items[self.at] else {
            unreachable!("a list ends at an action");
        };
        let tokens = tokens.clone();
        self.at += 1;
        Ok((keyword == "else").then(|| tokens[1..].to_vec()))
    }

    /// The nodes after a plain `{{else}}`, through the `{{end}}`.
    fn else_list(&mut self, what: &str, line: usize) -> Result<Vec<Node>, ParseError> {
        let (nodes, end) = self.list()?;
        match self.close(end, line, what)? {
            None => Ok(nodes),
            Some(_) => Err(ParseError::Syntax {
                line,
                message: format!("expected {{{{end}}}} after {{{{else}}}} of {{{{{what}}}}}"),
            }),
        }
    }

    fn branches(
        &mut self,
        keyword: &str,
        condition: &[Spaced],
        line: usize,
    ) -> Result<Branches, ParseError> {
        let mut arms = Vec::new();
        let mut condition = condition.to_vec();
        loop {
            let pipe = pipeline(&condition, line)?;
            let (body, end) = self.list()?;
            arms.push((pipe, body));
            match self.close(end, line, keyword)? {
                None => {
                    return Ok(Branches {
                        arms,
                        otherwise: Vec::new(),
                    })
                }
                Some(rest) if rest.is_empty() => {
                    return Ok(Branches {
                        arms,
                        otherwise: self.else_list(keyword, line)?,
                    })
                }
                Some(rest) => match rest.first() {
                    Some((Token::Ident(word), _)) if word == keyword => {
                        condition = rest[1..].to_vec();
                    }
                    _ => {
                        return Err(ParseError::Syntax {
                            line,
                            message: format!("expected {{{{else {keyword} …}}}} or {{{{else}}}}"),
                        })
                    }
                },
            }
        }
    }
}

/// Parses `[$a[, $b] (:=|=)] command (| command)*`.
fn pipeline(tokens: &[Spaced], line: usize) -> Result<Pipeline, ParseError> {
    let syntax = |message: &str| ParseError::Syntax {
        line,
        message: message.to_string(),
    };
    let mut declare = Vec::new();
    let mut assign = false;
    let mut rest = tokens;
    let declared = |names: &[&Spaced]| names.iter().all(|(t, _)| matches!(t, Token::Var(_)));
    if let [a, (Token::Declare | Token::Assign, _), ..] = rest {
        if declared(&[a]) {
            assign = rest[1].0 == Token::Assign;
            declare.push(var_name(&a.0));
            rest = &rest[2..];
        }
    } else if let [a, (Token::Comma, _), b, (Token::Declare | Token::Assign, _), ..] = rest {
        if declared(&[a, b]) {
            assign = rest[3].0 == Token::Assign;
            declare.push(var_name(&a.0));
            declare.push(var_name(&b.0));
            rest = &rest[4..];
        }
    }
    let mut commands = Vec::new();
    for part in split_pipes(rest) {
        if part.is_empty() {
            return Err(syntax("missing command in pipeline"));
        }
        commands.push(command(part, line)?);
    }
    if commands.is_empty() {
        return Err(syntax("missing value for command"));
    }
    Ok(Pipeline {
        declare,
        assign,
        commands,
    })
}

fn var_name(token: &Token) -> String {
    match token {
        Token::Var(name) => name.clone(),
        _ => String::new(),
    }
}

/// Splits at the `|`s outside parentheses.
fn split_pipes(tokens: &[Spaced]) -> Vec<&[Spaced]> {
    let mut parts = Vec::new();
    let mut depth = 0;
    let mut start = 0;
    for (i, (token, _)) in tokens.iter().enumerate() {
        match token {
            Token::Open => depth += 1,
            Token::Close => depth -= 1,
            Token::Pipe if depth == 0 => {
                parts.push(&tokens[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&tokens[start..]);
    parts
}

fn command(tokens: &[Spaced], line: usize) -> Result<Command, ParseError> {
    let syntax = |message: String| ParseError::Syntax { line, message };
    let mut args = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let (token, _) = &tokens[i];
        i += 1;
        let mut operand = match token {
            Token::Dot => Operand::Dot(Vec::new()),
            Token::Field(name) => Operand::Dot(vec![name.clone()]),
            Token::Var(name) => Operand::Var(name.clone(), Vec::new()),
            Token::Str(s) => Operand::Literal(Value::Str(s.clone())),
            Token::Int(n) => Operand::Literal(Value::Int(*n)),
            Token::Float(f) => Operand::Literal(Value::F64(*f)),
            Token::Ident(word) => match word.as_str() {
                "true" => Operand::Literal(Value::Bool(true)),
                "false" => Operand::Literal(Value::Bool(false)),
                "nil" => Operand::Literal(Value::Nil),
                _ => Operand::Func(word.clone()),
            },
            Token::Open => {
                let mut depth = 1;
                let start = i;
                while i < tokens.len() && depth > 0 {
                    match tokens[i].0 {
                        Token::Open => depth += 1,
                        Token::Close => depth -= 1,
                        _ => {}
                    }
                    i += 1;
                }
                if depth > 0 {
                    return Err(syntax("unclosed left paren".to_string()));
                }
                Operand::Sub(Box::new(pipeline(&tokens[start..i - 1], line)?), Vec::new())
            }
            other => return Err(syntax(format!("unexpected {other:?} in operand"))),
        };
        // Fields written right after an operand (`.A.B`, `$x.A`, `(…).A`) belong to it.
        while let Some((Token::Field(name), false)) = tokens.get(i) {
            match &mut operand {
                Operand::Dot(chain) | Operand::Var(_, chain) | Operand::Sub(_, chain) => {
                    chain.push(name.clone())
                }
                _ => return Err(syntax(format!("unexpected .{name} after a value"))),
            }
            i += 1;
        }
        args.push(operand);
    }
    Ok(Command { args })
}
