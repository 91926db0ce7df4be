//! The `--include` regular expression, matched against whole topic names as Kafka's
//! `Pattern.matcher(topic).matches()` does. A small backtracking matcher for the part of
//! Java's syntax topic filters use: literals, `.`, classes (`[a-z_]`, `[^.]`, `\d \w \s`),
//! groups, `|`, and the quantifiers `* + ? {n} {n,} {n,m}` (lazy `?` suffixes accepted).
//! Topic names are at most 249 characters, so backtracking stays cheap.

use crate::ToolError;

#[derive(Debug, Clone)]
enum Atom {
    Char(char),
    Any,
    Class {
        negated: bool,
        items: Vec<ClassItem>,
    },
    Group(Box<Alternation>),
    Start,
    End,
}

#[derive(Debug, Clone)]
enum ClassItem {
    Range(char, char),
    Digit,
    Word,
    Space,
}

#[derive(Debug, Clone)]
struct Piece {
    atom: Atom,
    min: usize,
    max: usize,
}

#[derive(Debug, Clone)]
struct Alternation(Vec<Vec<Piece>>);

/// A compiled `--include` pattern.
#[derive(Debug, Clone)]
pub(crate) struct TopicPattern {
    root: Alternation,
}

impl TopicPattern {
    pub(crate) fn new(pattern: &str) -> Result<TopicPattern, ToolError> {
        let chars: Vec<char> = pattern.chars().collect();
        let mut parser = Parser { chars, at: 0 };
        let root = parser.alternation()?;
        if parser.at < parser.chars.len() {
            return Err(parser.error("Unmatched closing ')'"));
        }
        Ok(TopicPattern { root })
    }

    /// Whether the whole of `topic` matches.
    pub(crate) fn matches(&self, topic: &str) -> bool {
        let input: Vec<char> = topic.chars().collect();
        match_alternation(&self.root, &input, 0, &mut |end| end == input.len())
    }
}

struct Parser {
    chars: Vec<char>,
    at: usize,
}

impl Parser {
    fn error(&self, what: &str) -> ToolError {
        let pattern: String = self.chars.iter().collect();
        ToolError::Usage(format!("{what} near index {} in {pattern}", self.at))
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn alternation(&mut self) -> Result<Alternation, ToolError> {
        let mut branches = vec![self.sequence()?];
        while self.peek() == Some('|') {
            self.at += 1;
            branches.push(self.sequence()?);
        }
        Ok(Alternation(branches))
    }

    fn sequence(&mut self) -> Result<Vec<Piece>, ToolError> {
        let mut pieces = Vec::new();
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            let atom = self.atom()?;
            let (min, max) = self.quantifier()?;
            pieces.push(Piece { atom, min, max });
        }
        Ok(pieces)
    }

    fn atom(&mut self) -> Result<Atom, ToolError> {
        let c = self.peek().ok_or_else(|| self.error("Unexpected end"))?;
        self.at += 1;
        Ok(match c {
            '.' => Atom::Any,
            '^' => Atom::Start,
            '$' => Atom::End,
            '(' => {
                // Non-capturing and named groups match the same text.
                if self.peek() == Some('?') {
                    self.at += 1;
                    if self.peek() == Some(':') {
                        self.at += 1;
                    } else {
                        return Err(self.error("Unsupported group construct"));
                    }
                }
                let inner = self.alternation()?;
                if self.peek() != Some(')') {
                    return Err(self.error("Unclosed group"));
                }
                self.at += 1;
                Atom::Group(Box::new(inner))
            }
            '[' => self.class()?,
            '\\' => match self.escape()? {
                Escaped::Char(c) => Atom::Char(c),
                Escaped::Class(item) => Atom::Class {
                    negated: false,
                    items: vec![item],
                },
                Escaped::NegatedClass(item) => Atom::Class {
                    negated: true,
                    items: vec![item],
                },
            },
            '*' | '+' | '?' | '{' => return Err(self.error("Dangling meta character")),
            c => Atom::Char(c),
        })
    }

    fn escape(&mut self) -> Result<Escaped, ToolError> {
        let c = self.peek().ok_or_else(|| self.error("Unexpected end"))?;
        self.at += 1;
        Ok(match c {
            'd' => Escaped::Class(ClassItem::Digit),
            'w' => Escaped::Class(ClassItem::Word),
            's' => Escaped::Class(ClassItem::Space),
            'D' => Escaped::NegatedClass(ClassItem::Digit),
            'W' => Escaped::NegatedClass(ClassItem::Word),
            'S' => Escaped::NegatedClass(ClassItem::Space),
            't' => Escaped::Char('\t'),
            'n' => Escaped::Char('\n'),
            c if c.is_ascii_alphanumeric() => return Err(self.error("Unsupported escape sequence")),
            c => Escaped::Char(c),
        })
    }

    fn class(&mut self) -> Result<Atom, ToolError> {
        let negated = self.peek() == Some('^');
        if negated {
            self.at += 1;
        }
        let mut items = Vec::new();
        let mut first = true;
        loop {
            let c = self
                .peek()
                .ok_or_else(|| self.error("Unclosed character class"))?;
            self.at += 1;
            if c == ']' && !first {
                break;
            }
            first = false;
            let low = if c == '\\' {
                match self.escape()? {
                    Escaped::Char(c) => c,
                    Escaped::Class(item) => {
                        items.push(item);
                        continue;
                    }
                    Escaped::NegatedClass(_) => {
                        return Err(self.error("Unsupported negated class in a class"))
                    }
                }
            } else {
                c
            };
            if self.peek() == Some('-') && self.chars.get(self.at + 1).is_some_and(|&n| n != ']') {
                self.at += 1;
                let mut high = self.peek().ok_or_else(|| self.error("Unclosed class"))?;
                self.at += 1;
                if high == '\\' {
                    match self.escape()? {
                        Escaped::Char(c) => high = c,
                        _ => return Err(self.error("Illegal character range")),
                    }
                }
                if high < low {
                    return Err(self.error("Illegal character range"));
                }
                items.push(ClassItem::Range(low, high));
            } else {
                items.push(ClassItem::Range(low, low));
            }
        }
        Ok(Atom::Class { negated, items })
    }

    fn quantifier(&mut self) -> Result<(usize, usize), ToolError> {
        let bounds = match self.peek() {
            Some('*') => (0, usize::MAX),
            Some('+') => (1, usize::MAX),
            Some('?') => (0, 1),
            Some('{') => {
                let close = self.chars[self.at..]
                    .iter()
                    .position(|&c| c == '}')
                    .ok_or_else(|| self.error("Unclosed counted closure"))?;
                let body: String = self.chars[self.at + 1..self.at + close].iter().collect();
                let number = |s: &str| s.trim().parse::<usize>().ok();
                let bounds = match body.split_once(',') {
                    None => number(&body).map(|n| (n, n)),
                    Some((lo, "")) => number(lo).map(|n| (n, usize::MAX)),
                    Some((lo, hi)) => number(lo).zip(number(hi)),
                }
                .filter(|(lo, hi)| lo <= hi)
                .ok_or_else(|| self.error("Illegal repetition range"))?;
                self.at += close;
                bounds
            }
            _ => return Ok((1, 1)),
        };
        self.at += 1;
        // Lazy and possessive suffixes change which match is found, not whether one is.
        if matches!(self.peek(), Some('?') | Some('+')) {
            self.at += 1;
        }
        Ok(bounds)
    }
}

enum Escaped {
    Char(char),
    Class(ClassItem),
    NegatedClass(ClassItem),
}

fn class_item_matches(item: &ClassItem, c: char) -> bool {
    match item {
        ClassItem::Range(low, high) => (*low..=*high).contains(&c),
        ClassItem::Digit => c.is_ascii_digit(),
        ClassItem::Word => c.is_ascii_alphanumeric() || c == '_',
        ClassItem::Space => c.is_ascii_whitespace(),
    }
}

fn match_alternation(
    alt: &Alternation,
    input: &[char],
    at: usize,
    then: &mut dyn FnMut(usize) -> bool,
) -> bool {
    alt.0
        .iter()
        .any(|branch| match_sequence(branch, input, at, then))
}

fn match_sequence(
    pieces: &[Piece],
    input: &[char],
    at: usize,
    then: &mut dyn FnMut(usize) -> bool,
) -> bool {
    match pieces.split_first() {
        None => then(at),
        Some((piece, rest)) => match_repeat(piece, 0, input, at, &mut |next| {
            match_sequence(rest, input, next, then)
        }),
    }
}

/// Greedy repetition of `piece`, having matched it `count` times so far.
fn match_repeat(
    piece: &Piece,
    count: usize,
    input: &[char],
    at: usize,
    then: &mut dyn FnMut(usize) -> bool,
) -> bool {
    if count < piece.max
        && match_atom(&piece.atom, input, at, &mut |next| {
            // Past the minimum, an iteration that consumed nothing would repeat forever.
            (next != at || count < piece.min) && match_repeat(piece, count + 1, input, next, then)
        })
    {
        return true;
    }
    count >= piece.min && then(at)
}

fn match_atom(atom: &Atom, input: &[char], at: usize, then: &mut dyn FnMut(usize) -> bool) -> bool {
    match atom {
        Atom::Start => at == 0 && then(at),
        Atom::End => at == input.len() && then(at),
        Atom::Group(inner) => match_alternation(inner, input, at, then),
        single => {
            let Some(&c) = input.get(at) else {
                return false;
            };
            let ok = match single {
                Atom::Char(want) => c == *want,
                Atom::Any => c != '\n',
                Atom::Class { negated, items } => {
                    items.iter().any(|i| class_item_matches(i, c)) != *negated
                }
                _ => false,
            };
            ok && then(at + 1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, topic: &str) -> bool {
        TopicPattern::new(pattern).unwrap().matches(topic)
    }

    #[test]
    fn matches_whole_names_only() {
        assert!(m("orders", "orders"));
        assert!(!m("orders", "orders-eu"));
        assert!(m("orders.*", "orders-eu"));
        assert!(m(".*", ""));
    }

    #[test]
    fn alternation_groups_classes_and_counts() {
        assert!(m("a|b", "b"));
        assert!(m("(logs|events)-[0-9]+", "events-42"));
        assert!(!m("(logs|events)-[0-9]+", "events-"));
        assert!(m("t\\d{2,3}", "t123"));
        assert!(!m("t\\d{2,3}", "t1234"));
        assert!(m("[^.]+\\.x", "ab.x"));
        assert!(!m("[^.]+\\.x", "a.b.x"));
        assert!(m("(a*)*b", "aaab"));
        assert!(m("^test.*$", "test-topic"));
        assert!(m("(?:a|b)+?c", "abac"));
    }

    #[test]
    fn malformed_patterns_are_refused() {
        assert!(TopicPattern::new("(a").is_err());
        assert!(TopicPattern::new("a)").is_err());
        assert!(TopicPattern::new("*a").is_err());
        assert!(TopicPattern::new("[a").is_err());
    }
}
