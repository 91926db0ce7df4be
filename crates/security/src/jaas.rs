//! `sasl.jaas.config` values, as Kafka's `JaasConfig` parses them:
//! `<LoginModule class> <required|requisite|sufficient|optional> key=value … ;`, one or
//! more entries, values quoted (`"…"`, with `\` escapes) or bare.

use std::collections::BTreeMap;

/// One login module entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginModule {
    pub class: String,
    pub flag: String,
    pub options: BTreeMap<String, String>,
}

/// Why a JAAS value does not parse (Kafka: "Invalid JAAS config: …").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Invalid JAAS config: {0}")]
pub struct JaasError(pub String);

/// Parses a `sasl.jaas.config` value into its entries.
pub fn parse(text: &str) -> Result<Vec<LoginModule>, JaasError> {
    let tokens = tokenize(text)?;
    let mut modules = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let class = word(&tokens, i, "login module class")?;
        let flag = word(&tokens, i + 1, "login module control flag")?;
        if !matches!(
            flag.to_ascii_lowercase().as_str(),
            "required" | "requisite" | "sufficient" | "optional"
        ) {
            return Err(JaasError(format!(
                "Invalid login module control flag '{flag}'"
            )));
        }
        i += 2;
        let mut options = BTreeMap::new();
        loop {
            match tokens.get(i) {
                Some(Token::Semicolon) => {
                    i += 1;
                    break;
                }
                Some(Token::Word(key)) => {
                    if tokens.get(i + 1) != Some(&Token::Equals) {
                        return Err(JaasError(format!("Value not specified for key '{key}'")));
                    }
                    let value = word(&tokens, i + 2, "option value")?;
                    options.insert(key.clone(), value);
                    i += 3;
                }
                _ => return Err(JaasError("Expected ';' after the last option".to_string())),
            }
        }
        modules.push(LoginModule {
            class,
            flag,
            options,
        });
    }
    if modules.is_empty() {
        return Err(JaasError(
            "JAAS config entry not terminated by semi-colon".to_string(),
        ));
    }
    Ok(modules)
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Equals,
    Semicolon,
}

fn word(tokens: &[Token], i: usize, what: &str) -> Result<String, JaasError> {
    match tokens.get(i) {
        Some(Token::Word(w)) => Ok(w.clone()),
        _ => Err(JaasError(format!("expected a {what}"))),
    }
}

fn tokenize(text: &str) -> Result<Vec<Token>, JaasError> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '=' => {
                chars.next();
                tokens.push(Token::Equals);
            }
            ';' => {
                chars.next();
                tokens.push(Token::Semicolon);
            }
            '"' | '\'' => {
                chars.next();
                let mut value = String::new();
                loop {
                    match chars.next() {
                        None => return Err(JaasError("unterminated quoted value".to_string())),
                        Some(q) if q == c => break,
                        Some('\\') => value.extend(chars.next()),
                        Some(other) => value.push(other),
                    }
                }
                tokens.push(Token::Word(value));
            }
            _ => {
                let mut value = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || c == '=' || c == ';' {
                        break;
                    }
                    value.push(c);
                    chars.next();
                }
                tokens.push(Token::Word(value));
            }
        }
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafkas_plain_and_scram_entries_parse() {
        let modules = parse(
            r#"org.apache.kafka.common.security.plain.PlainLoginModule required
               username="admin" password="admin-secret" user_admin="admin-secret" user_bob='b;o"b';"#,
        )
        .unwrap();
        assert_eq!(modules.len(), 1);
        assert_eq!(
            modules[0].class,
            "org.apache.kafka.common.security.plain.PlainLoginModule"
        );
        assert_eq!(modules[0].flag, "required");
        assert_eq!(modules[0].options["user_admin"], "admin-secret");
        assert_eq!(modules[0].options["user_bob"], "b;o\"b");
        let two = parse("a.B required; c.D optional x=1;").unwrap();
        assert_eq!((two.len(), two[1].options["x"].as_str()), (2, "1"));
    }

    #[test]
    fn malformed_entries_are_refused() {
        assert!(parse("a.B required x=\"1\"").unwrap_err().0.contains("';'"));
        assert!(parse("a.B always;").unwrap_err().0.contains("control flag"));
        assert!(parse("a.B required x;")
            .unwrap_err()
            .0
            .contains("Value not specified for key 'x'"));
        assert!(parse("").is_err());
    }
}
