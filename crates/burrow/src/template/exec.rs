//! Runs a parsed template over a value, as Go's `text/template` executes: `.` moves
//! with `range` and `with`, variables live to the end of their control structure, a
//! pipeline's value is the last argument of its next command, and a field chain may end
//! in a method (`.Start.Format "…"`, `.Result.Status.String`).

use super::funcs;
use super::gotime;
use super::parse::{Branches, Command, Node, Operand, Pipeline};
use super::value::Value;

/// Why executing a template failed (Burrow logs it and sends nothing).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("executing template: {0}")]
pub struct ExecError(pub String);

/// What a body asked of its enclosing `range`.
enum Flow {
    Next,
    Break,
    Continue,
}

pub(super) struct Exec<'a> {
    out: &'a mut String,
    vars: Vec<(String, Value)>,
}

impl<'a> Exec<'a> {
    pub(super) fn new(out: &'a mut String, root: Value) -> Exec<'a> {
        Exec {
            out,
            vars: vec![("$".to_string(), root)],
        }
    }

    pub(super) fn run(&mut self, nodes: &[Node], dot: &Value) -> Result<(), ExecError> {
        self.nodes(nodes, dot).map(|_| ())
    }

    fn nodes(&mut self, nodes: &[Node], dot: &Value) -> Result<Flow, ExecError> {
        for node in nodes {
            match node {
                Node::Text(text) => self.out.push_str(text),
                Node::Action(pipe) => {
                    let value = self.pipeline(pipe, dot)?;
                    if pipe.declare.is_empty() {
                        self.out.push_str(&value.print());
                    }
                }
                Node::If(branches) => {
                    if let flow @ (Flow::Break | Flow::Continue) =
                        self.branches(branches, dot, false)?
                    {
                        return Ok(flow);
                    }
                }
                Node::With(branches) => {
                    if let flow @ (Flow::Break | Flow::Continue) =
                        self.branches(branches, dot, true)?
                    {
                        return Ok(flow);
                    }
                }
                Node::Range {
                    pipe,
                    body,
                    otherwise,
                } => self.range(pipe, body, otherwise, dot)?,
                Node::Break => return Ok(Flow::Break),
                Node::Continue => return Ok(Flow::Continue),
            }
        }
        Ok(Flow::Next)
    }

    /// `if`/`with` chains: the first arm whose pipeline is true runs (with `.` set to
    /// its value for `with`), else the `else` nodes.
    fn branches(&mut self, b: &Branches, dot: &Value, with: bool) -> Result<Flow, ExecError> {
        let mark = self.vars.len();
        let mut flow = None;
        for (pipe, body) in &b.arms {
            let value = self.pipeline(pipe, dot)?;
            if value.truthy() {
                flow = Some(self.nodes(body, if with { &value } else { dot })?);
                break;
            }
        }
        let flow = match flow {
            Some(flow) => flow,
            None => self.nodes(&b.otherwise, dot)?,
        };
        self.vars.truncate(mark);
        Ok(flow)
    }

    fn range(
        &mut self,
        pipe: &Pipeline,
        body: &[Node],
        otherwise: &[Node],
        dot: &Value,
    ) -> Result<(), ExecError> {
        let mark = self.vars.len();
        let declare = pipe.declare.clone();
        let undeclared = Pipeline {
            declare: Vec::new(),
            assign: false,
            commands: pipe.commands.clone(),
        };
        let items: Vec<(Value, Value)> = match self.pipeline(&undeclared, dot)? {
            Value::List(list) => list
                .into_iter()
                .enumerate()
                .map(|(i, v)| (Value::Int(i as i64), v))
                .collect(),
            Value::Map(map) => map.into_iter().map(|(k, v)| (Value::Str(k), v)).collect(),
            Value::Int(n) => (0..n.max(0))
                .map(|i| (Value::Int(i), Value::Int(i)))
                .collect(),
            Value::Nil | Value::Missing => Vec::new(),
            other => {
                return Err(ExecError(format!(
                    "range can't iterate over {}",
                    other.print()
                )))
            }
        };
        if items.is_empty() {
            self.nodes(otherwise, dot)?;
        }
        for (key, value) in items {
            match declare.as_slice() {
                [one] => self.vars.push((one.clone(), value.clone())),
                [k, v] => {
                    self.vars.push((k.clone(), key));
                    self.vars.push((v.clone(), value.clone()));
                }
                _ => {}
            }
            let flow = self.nodes(body, &value)?;
            self.vars.truncate(mark);
            if let Flow::Break = flow {
                break;
            }
        }
        self.vars.truncate(mark);
        Ok(())
    }

    fn pipeline(&mut self, pipe: &Pipeline, dot: &Value) -> Result<Value, ExecError> {
        let mut value = None;
        for command in &pipe.commands {
            value = Some(self.command(command, dot, value)?);
        }
        let value = value.unwrap_or(Value::Missing);
        match (pipe.declare.as_slice(), pipe.assign) {
            ([], _) => {}
            ([name], false) => self.vars.push((name.clone(), value.clone())),
            ([name], true) => {
                let slot = self
                    .vars
                    .iter_mut()
                    .rev()
                    .find(|(n, _)| n == name)
                    .ok_or_else(|| ExecError(format!("undefined variable: {name}")))?;
                slot.1 = value.clone();
            }
            (names, _) => {
                return Err(ExecError(format!(
                    "too many declarations in command: {}",
                    names.join(", ")
                )))
            }
        }
        Ok(value)
    }

    fn command(
        &mut self,
        command: &Command,
        dot: &Value,
        piped: Option<Value>,
    ) -> Result<Value, ExecError> {
        let (first, rest) = command
            .args
            .split_first()
            .ok_or_else(|| ExecError("empty command".to_string()))?;
        let mut args = Vec::new();
        for arg in rest {
            args.push(self.operand(arg, dot, &[])?);
        }
        args.extend(piped);
        match first {
            Operand::Func(name) => {
                if !funcs::exists(name) {
                    return Err(ExecError(format!("function {name:?} not defined")));
                }
                funcs::call(name, args).map_err(|e| ExecError(format!("error calling {name}: {e}")))
            }
            operand => self.operand(operand, dot, &args),
        }
    }

    /// An operand's value; `args` go to a method at the end of its field chain.
    fn operand(
        &mut self,
        operand: &Operand,
        dot: &Value,
        args: &[Value],
    ) -> Result<Value, ExecError> {
        let (base, chain) = match operand {
            Operand::Dot(chain) => (dot.clone(), chain),
            Operand::Var(name, chain) => (
                self.vars
                    .iter()
                    .rev()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v.clone())
                    .ok_or_else(|| ExecError(format!("undefined variable: {name}")))?,
                chain,
            ),
            Operand::Sub(pipe, chain) => (self.pipeline(pipe, dot)?, chain),
            Operand::Literal(value) => {
                if !args.is_empty() {
                    return Err(ExecError(format!(
                        "can't give argument to non-function {}",
                        value.print()
                    )));
                }
                return Ok(value.clone());
            }
            Operand::Func(name) => {
                if !funcs::exists(name) {
                    return Err(ExecError(format!("function {name:?} not defined")));
                }
                return funcs::call(name, args.to_vec())
                    .map_err(|e| ExecError(format!("error calling {name}: {e}")));
            }
        };
        let mut value = base;
        for (i, name) in chain.iter().enumerate() {
            let last = i + 1 == chain.len();
            value = field(&value, name, if last { args } else { &[] })?;
        }
        if chain.is_empty() && !args.is_empty() {
            return Err(ExecError(format!(
                "can't give argument to non-function {}",
                value.print()
            )));
        }
        Ok(value)
    }
}

/// `value.name`: a struct field, a map key, or a method of `time.Time` or a status.
fn field(value: &Value, name: &str, args: &[Value]) -> Result<Value, ExecError> {
    let no_args = |v: Value| {
        if args.is_empty() {
            Ok(v)
        } else {
            Err(ExecError(format!(
                "{name} has arguments but cannot take any"
            )))
        }
    };
    match value {
        Value::Struct(s) => match s.fields.iter().find(|(n, _)| *n == name) {
            Some((_, v)) => no_args(v.clone()),
            None => Err(ExecError(format!(
                "can't evaluate field {name} in type struct"
            ))),
        },
        Value::Map(map) => no_args(map.get(name).cloned().unwrap_or(Value::Missing)),
        Value::Status(status) => match name {
            "String" => no_args(Value::Str(status.name().to_string())),
            _ => Err(ExecError(format!(
                "can't evaluate field {name} in type protocol.StatusConstant"
            ))),
        },
        Value::Time(time) => match (name, args) {
            ("Format", [Value::Str(layout)]) => Ok(Value::Str(gotime::format(time, layout))),
            ("Format", _) => Err(ExecError(
                "wrong number of args for Format: want 1 string".to_string(),
            )),
            ("String", []) => Ok(Value::Str(gotime::default_string(time))),
            ("Unix", []) => Ok(Value::Int(time.timestamp())),
            ("UnixMilli", []) => Ok(Value::Int(time.timestamp_millis())),
            ("UnixNano", []) => Ok(Value::Int(time.timestamp_nanos_opt().unwrap_or_default())),
            ("IsZero", []) => Ok(Value::Bool(time.timestamp() == gotime::ZERO_UNIX)),
            ("UTC" | "Local", []) => Ok(value.clone()),
            _ => Err(ExecError(format!(
                "can't evaluate field {name} in type time.Time"
            ))),
        },
        Value::Nil | Value::Missing => Err(ExecError(format!("nil pointer evaluating {name}"))),
        other => Err(ExecError(format!(
            "can't evaluate field {name} in type {}",
            other.type_name()
        ))),
    }
}
