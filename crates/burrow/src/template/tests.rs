use std::collections::BTreeMap;

use super::{Template, Value};

fn data() -> Value {
    let mut extras = BTreeMap::new();
    extras.insert("b".to_string(), Value::Str("two".into()));
    extras.insert("a".to_string(), Value::Str("one".into()));
    Value::structure(
        vec![
            ("Name", Value::Str("billing".into())),
            ("Count", Value::Int(3)),
            ("Empty", Value::Str(String::new())),
            (
                "Items",
                Value::List(vec![Value::Int(10), Value::Int(20), Value::Int(30)]),
            ),
            ("Extras", Value::Map(extras)),
            ("Nothing", Value::Nil),
        ],
        serde_json::json!({"name": "billing"}),
    )
}

fn render(text: &str) -> String {
    Template::parse(text)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .render(&data())
        .unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn render_error(text: &str) -> String {
    match Template::parse(text) {
        Err(e) => e.to_string(),
        Ok(t) => t.render(&data()).unwrap_err().to_string(),
    }
}

#[test]
fn control_structures_behave_as_in_go() {
    assert_eq!(
        render("{{if .Empty}}yes{{else if .Count}}count{{else}}no{{end}}"),
        "count"
    );
    assert_eq!(render("{{if not .Empty}}empty{{end}}"), "empty");
    assert_eq!(render("{{with .Name}}<{{.}}>{{end}}"), "<billing>");
    assert_eq!(render("{{with .Empty}}x{{else}}none{{end}}"), "none");
    assert_eq!(render("{{range .Items}}{{.}},{{end}}"), "10,20,30,");
    assert_eq!(
        render("{{range $i, $v := .Items}}{{$i}}={{$v}} {{end}}"),
        "0=10 1=20 2=30 "
    );
    assert_eq!(render("{{range .Nothing}}x{{else}}empty{{end}}"), "empty");
    // Maps range in key order.
    assert_eq!(
        render("{{range $k, $v := .Extras}}{{$k}}:{{$v}};{{end}}"),
        "a:one;b:two;"
    );
    assert_eq!(
        render("{{range .Items}}{{if eq . 20}}{{continue}}{{end}}{{if eq . 30}}{{break}}{{end}}{{.}}{{end}}"),
        "10"
    );
    // `$` is the data wherever `.` has moved.
    assert_eq!(
        render("{{range .Items}}{{$.Name}}{{end}}"),
        "billingbillingbilling"
    );
}

#[test]
fn variables_pipelines_and_trim_markers() {
    assert_eq!(render("{{$n := .Count}}{{$n = add $n 1}}{{$n}}"), "4");
    assert_eq!(render("{{.Count | add 2 | printf \"%03d\"}}"), "005");
    assert_eq!(
        render("{{(index .Items 1)}} {{len .Items}} {{index .Extras \"a\"}}"),
        "20 3 one"
    );
    assert_eq!(render("a  {{- .Name -}}  b"), "abillingb");
    assert_eq!(render("{{/* a comment */}}x"), "x");
    assert_eq!(render("{{- /* trimmed */ -}}  x"), "x");
    assert_eq!(render("{{\"}}\"}}"), "}}");
    assert_eq!(render("{{print 1 2 \"a\" 3}}"), "1 2a3");
}

#[test]
fn printing_follows_go() {
    assert_eq!(render("{{.Extras.missing}}"), "<no value>");
    assert_eq!(render("{{.Nothing}}"), "<nil>");
    assert_eq!(
        render("{{.Items}} {{.Extras}}"),
        "[10 20 30] map[a:one b:two]"
    );
    assert_eq!(render("{{and 1 0 2}} {{or 0 \"\" 7}} {{and 1 2}}"), "0 7 2");
    assert_eq!(
        render("{{lt 1 2}} {{ge \"b\" \"a\"}} {{ne .Count 3}} {{eq .Count 1 2 3}}"),
        "true true false true"
    );
    assert_eq!(
        render("{{html \"<a href='x'>\"}} {{urlquery \"a b&c\"}} {{js \"it's\"}}"),
        "&lt;a href=&#39;x&#39;&gt; a+b%26c it\\'s"
    );
    assert_eq!(
        render("{{jsonencoder .}} {{jsonencoder .Items}}"),
        "{\"name\":\"billing\"} [10,20,30]"
    );
}

#[test]
fn mistakes_are_named() {
    assert!(render_error("{{if .Count}}x").contains("has no {{end}}"));
    assert!(render_error("{{end}}").contains("unexpected {{end}}"));
    assert!(render_error("{{.Name").contains("unclosed action"));
    assert!(render_error("{{nosuch 1}}").contains("function \"nosuch\" not defined"));
    assert!(render_error("{{define \"x\"}}{{end}}").contains("not supported"));
    assert!(render_error("{{.Nothing.Field}}").contains("nil pointer evaluating Field"));
    assert!(render_error("{{eq .Name 1}}").contains("incompatible types for comparison"));
    assert!(render_error("{{$x}}").contains("undefined variable: $x"));
    assert!(render_error("{{index .Items 7}}").contains("index out of range"));
}
