//! Evaluation of commands, arguments, fields and function calls for the executor: Go's
//! `evalCommand`, `evalArg`, `evalField`, `evalCall` and `idealConstant`, with Go's argument
//! typing (`string`, `int`, `bool`, map, `interface{}`, `reflect.Value` parameters).

use super::ast::{Arg, Command, Number};
use super::builtins::{self, Builtin, Param, Sig};
use super::exec::{At, EResult, State};
use super::value::{Value, SECRET_TYPE};

impl State<'_> {
    fn not_a_function(&self, cmd: &Command, final_: &Option<Value>) -> EResult<()> {
        if cmd.args.len() > 1 || final_.is_some() {
            let first = &cmd.args[0];
            return self.err(
                At(first.pos(), first),
                format!("can't give argument to non-function {first}"),
            );
        }
        Ok(())
    }

    pub(super) fn eval_command(
        &mut self,
        dot: &Value,
        cmd: &Command,
        final_: Option<Value>,
    ) -> EResult<Value> {
        self.step(cmd.pos)?;
        let first = &cmd.args[0];
        match first {
            Arg::Field { pos, idents } => {
                return self.eval_field_chain(
                    dot,
                    dot.clone(),
                    *pos,
                    first,
                    idents,
                    &cmd.args,
                    final_,
                );
            }
            Arg::Chain { pos, node, fields } => {
                let recv = self.eval_arg(dot, Param::Value, node)?;
                return self.eval_field_chain(dot, recv, *pos, first, fields, &cmd.args, final_);
            }
            Arg::Identifier { pos, name } => {
                return self.eval_function(dot, *pos, name, cmd, final_)
            }
            Arg::Pipe(p) => {
                self.not_a_function(cmd, &final_)?;
                return self.eval_pipeline(dot, p);
            }
            Arg::Variable { pos, idents } => {
                let v = self.var_value(*pos, &idents[0])?;
                if idents.len() == 1 {
                    self.not_a_function(cmd, &final_)?;
                    return Ok(v);
                }
                return self.eval_field_chain(dot, v, *pos, first, &idents[1..], &cmd.args, final_);
            }
            _ => {}
        }
        self.not_a_function(cmd, &final_)?;
        match first {
            Arg::Bool(_, b) => Ok(Value::Bool(*b)),
            Arg::Dot(_) => Ok(dot.clone()),
            Arg::Nil(pos) => self.err(At(*pos, first), "nil is not a command"),
            Arg::Number(pos, n) => self.ideal_constant(*pos, n),
            Arg::Str { text, .. } => Ok(Value::str(text)),
            _ => self.err(
                At(first.pos(), first),
                format!("can't evaluate command {first}"),
            ),
        }
    }

    fn ideal_constant(&self, pos: usize, n: &Number) -> EResult<Value> {
        let t = &n.text;
        let is_hex_int = t.len() > 2
            && t.starts_with('0')
            && matches!(t.as_bytes()[1], b'x' | b'X')
            && !t.contains(['p', 'P']);
        if n.is_complex {
            return Ok(Value::Complex(n.complex.0, n.complex.1));
        }
        if n.is_float
            && !is_hex_int
            && !t.starts_with('\'')
            && t.contains(['.', 'e', 'E', 'p', 'P'])
        {
            return Ok(Value::Float(n.float));
        }
        if n.is_int {
            return Ok(Value::Int(n.int));
        }
        if n.is_uint {
            return self.err(At(pos, &t), format!("{t} overflows int"));
        }
        Ok(Value::Nil)
    }

    #[allow(clippy::too_many_arguments)]
    fn eval_field_chain(
        &mut self,
        dot: &Value,
        receiver: Value,
        pos: usize,
        node: &Arg,
        idents: &[String],
        args: &[Arg],
        final_: Option<Value>,
    ) -> EResult<Value> {
        let mut recv = receiver;
        let mut null_iface = false;
        let n = idents.len();
        for (i, name) in idents.iter().enumerate() {
            let last = i == n - 1;
            let has_args = last && (args.len() > 1 || final_.is_some());
            if let Value::Object(o) = &recv {
                // A method of a Go value (semver's `.LessThan v`): the arguments are evaluated
                // only when the receiver has members to call.
                let mut argv = Vec::new();
                if last {
                    for a in args.iter().skip(1) {
                        argv.push(self.eval_arg(dot, Param::Value, a)?);
                    }
                    argv.extend(final_.clone());
                }
                let o = o.clone();
                recv = match o.member(name, &argv) {
                    Some(Ok(v)) => v,
                    Some(Err(e)) => {
                        return self.err(At(pos, node), format!("error calling {name}: {e}"))
                    }
                    None => {
                        return self.err(
                            At(pos, node),
                            format!("can't evaluate field {name} in type {}", o.type_name()),
                        )
                    }
                };
                null_iface = false;
                continue;
            }
            let (v, null) = self.eval_field(pos, node, name, has_args, &recv, null_iface)?;
            recv = v;
            null_iface = null;
        }
        Ok(recv)
    }

    /// One field step. Returns the value and whether it is a nil held in a map (Go's nil
    /// interface, on which a further field access is an error, unlike a missing key).
    fn eval_field(
        &self,
        pos: usize,
        node: &Arg,
        name: &str,
        has_args: bool,
        recv: &Value,
        recv_null_iface: bool,
    ) -> EResult<(Value, bool)> {
        match recv {
            Value::Nil if recv_null_iface => self.err(
                At(pos, node),
                format!("nil pointer evaluating interface {{}}.{name}"),
            ),
            Value::Nil => Ok((Value::Nil, false)),
            Value::Secret(s) => match Value::secret_field(s, name) {
                Some(v) => {
                    if has_args {
                        return self.err(
                            At(pos, node),
                            format!("{name} has arguments but cannot be invoked as function"),
                        );
                    }
                    Ok((v, false))
                }
                None => self.err(
                    At(pos, node),
                    format!("can't evaluate field {name} in type {SECRET_TYPE}"),
                ),
            },
            Value::Map(m) | Value::StrMap(m) => {
                if has_args {
                    return self.err(
                        At(pos, node),
                        format!("{name} is not a method but has arguments"),
                    );
                }
                let found = m.borrow().get(name.as_bytes()).cloned();
                match found {
                    Some(v) => {
                        let null = v.is_nil();
                        Ok((v, null))
                    }
                    None => Ok((Value::Nil, false)),
                }
            }
            other => self.err(
                At(pos, node),
                format!("can't evaluate field {name} in type {}", other.type_name()),
            ),
        }
    }

    fn eval_function(
        &mut self,
        dot: &Value,
        pos: usize,
        name: &str,
        cmd: &Command,
        final_: Option<Value>,
    ) -> EResult<Value> {
        let ident = &cmd.args[0];
        let Some((sig, f)) = builtins::lookup(name) else {
            return self.err(
                At(pos, ident),
                format!("{name:?} is not a defined function"),
            );
        };
        let args = &cmd.args[1..];
        let num_in = args.len() + usize::from(final_.is_some());
        let fixed = sig.fixed.len();
        if sig.variadic.is_some() {
            if num_in < fixed {
                return self.err(
                    At(pos, ident),
                    format!(
                        "wrong number of args for {name}: want at least {fixed} got {}",
                        args.len()
                    ),
                );
            }
        } else if num_in != fixed {
            return self.err(
                At(pos, ident),
                format!("wrong number of args for {name}: want {fixed} got {num_in}"),
            );
        }
        if matches!(f, Builtin::And | Builtin::Or) {
            let want = matches!(f, Builtin::Or);
            let mut v = Value::Nil;
            for a in args {
                v = self.eval_arg(dot, Param::Value, a)?;
                if v.truth() == want {
                    return Ok(v);
                }
            }
            if let Some(fv) = final_ {
                return Ok(fv);
            }
            return Ok(v);
        }
        let mut argv = Vec::with_capacity(num_in);
        for (i, a) in args.iter().enumerate() {
            argv.push(self.eval_arg(dot, param_at(&sig, i), a)?);
        }
        if let Some(fv) = final_ {
            let p = param_at(&sig, num_in - 1);
            argv.push(self.validate(pos, cmd, fv, p)?);
        }
        if matches!(f, Builtin::Call) {
            let callee = args.first().map(|a| a.to_string()).unwrap_or_default();
            let t = argv.first().map_or("<nil>", |v| v.type_name());
            return self.err(
                At(cmd.pos, cmd),
                format!("error calling call: non-function {callee} of type {t}"),
            );
        }
        match builtins::call(f, name, &argv, self) {
            Ok(v) => Ok(v),
            Err(e) => self.err(At(cmd.pos, cmd), format!("error calling {name}: {e}")),
        }
    }

    fn validate(
        &self,
        pos: usize,
        node: &dyn std::fmt::Display,
        v: Value,
        p: Param,
    ) -> EResult<Value> {
        match (p, &v) {
            (Param::Str, Value::Nil) => self.err(At(pos, node), "invalid value; expected string"),
            (Param::Str, Value::Str(_)) => Ok(v),
            (Param::Int, Value::Int(_))
            | (Param::Bool, Value::Bool(_))
            | (Param::Map, Value::Map(_))
            | (Param::Int64, Value::Int64(_))
            | (Param::Float, Value::Float(_))
            | (Param::Time, Value::Time(_))
            | (Param::List, Value::List(_, super::value::ElemType::Any)) => Ok(v),
            (Param::Object(t), Value::Object(o)) if o.type_name() == t => Ok(v),
            (Param::Map, Value::Nil) => Ok(Value::map(Default::default())),
            (Param::List, Value::Nil) => Ok(Value::List(
                std::rc::Rc::new(Vec::new()),
                super::value::ElemType::Any,
            )),
            (
                Param::Int
                | Param::Bool
                | Param::Int64
                | Param::Uint32
                | Param::Float
                | Param::Time
                | Param::Object(_),
                Value::Nil,
            ) => self.err(
                At(pos, node),
                format!("invalid value; expected {}", param_type(p)),
            ),
            (
                Param::Int
                | Param::Bool
                | Param::Map
                | Param::Int64
                | Param::Uint32
                | Param::Float
                | Param::Time
                | Param::List
                | Param::Object(_),
                other,
            ) => self.err(
                At(pos, node),
                format!(
                    "wrong type for value; expected {}; got {}",
                    param_type(p),
                    other.type_name()
                ),
            ),
            (Param::Str, other) => self.err(
                At(pos, node),
                format!(
                    "wrong type for value; expected string; got {}",
                    other.type_name()
                ),
            ),
            _ => Ok(v),
        }
    }

    fn eval_arg(&mut self, dot: &Value, p: Param, n: &Arg) -> EResult<Value> {
        let pos = n.pos();
        match n {
            Arg::Dot(_) => return self.validate(pos, n, dot.clone(), p),
            Arg::Nil(_) => {
                if matches!(
                    p,
                    Param::Str
                        | Param::Int
                        | Param::Bool
                        | Param::Int64
                        | Param::Uint32
                        | Param::Float
                        | Param::Time
                        | Param::Object(_)
                ) {
                    return self.err(
                        At(pos, n),
                        format!("cannot assign nil to {}", param_type(p)),
                    );
                }
                return Ok(Value::Nil);
            }
            Arg::Field { idents, .. } => {
                let v = self.eval_field_chain(
                    dot,
                    dot.clone(),
                    pos,
                    n,
                    idents,
                    std::slice::from_ref(n),
                    None,
                )?;
                return self.validate(pos, n, v, p);
            }
            Arg::Variable { idents, .. } => {
                let v = self.var_value(pos, &idents[0])?;
                let v = if idents.len() > 1 {
                    self.eval_field_chain(
                        dot,
                        v,
                        pos,
                        n,
                        &idents[1..],
                        std::slice::from_ref(n),
                        None,
                    )?
                } else {
                    v
                };
                return self.validate(pos, n, v, p);
            }
            Arg::Pipe(pipe) => {
                let v = self.eval_pipeline(dot, pipe)?;
                return self.validate(pos, n, v, p);
            }
            Arg::Identifier { name, .. } => {
                let cmd = Command {
                    pos,
                    args: vec![n.clone()],
                };
                let v = self.eval_function(dot, pos, name, &cmd, None)?;
                return self.validate(pos, n, v, p);
            }
            Arg::Chain { node, fields, .. } => {
                let recv = self.eval_arg(dot, Param::Value, node)?;
                let v = self.eval_field_chain(
                    dot,
                    recv,
                    pos,
                    n,
                    fields,
                    std::slice::from_ref(n),
                    None,
                )?;
                return self.validate(pos, n, v, p);
            }
            _ => {}
        }
        match (p, n) {
            (Param::Str, Arg::Str { text, .. }) => Ok(Value::str(text)),
            (Param::Str, _) => self.err(At(pos, n), format!("expected string; found {n}")),
            (Param::Int, Arg::Number(_, num)) if num.is_int => Ok(Value::Int(num.int)),
            (Param::Int, _) => self.err(At(pos, n), format!("expected integer; found {n}")),
            (Param::Int64, Arg::Number(_, num)) if num.is_int => Ok(Value::Int64(num.int)),
            (Param::Int64, _) => self.err(At(pos, n), format!("expected integer; found {n}")),
            // Go's `reflect.Value.SetUint` keeps the low 32 bits.
            (Param::Uint32, Arg::Number(_, num)) if num.is_uint => {
                Ok(Value::Uint64(num.uint as u32 as u64))
            }
            (Param::Uint32, _) => {
                self.err(At(pos, n), format!("expected unsigned integer; found {n}"))
            }
            (Param::Float, Arg::Number(_, num)) if num.is_float => Ok(Value::Float(num.float)),
            (Param::Float, _) => self.err(At(pos, n), format!("expected float; found {n}")),
            (Param::Time | Param::List | Param::Object(_), _) => self.err(
                At(pos, n),
                format!("can't handle {n} for arg of type {}", param_type(p)),
            ),
            (Param::Bool, Arg::Bool(_, b)) => Ok(Value::Bool(*b)),
            (Param::Bool, _) => self.err(At(pos, n), format!("expected bool; found {n}")),
            (Param::Map, _) => self.err(
                At(pos, n),
                format!("can't handle {n} for arg of type map[string]interface {{}}"),
            ),
            (_, Arg::Bool(_, b)) => Ok(Value::Bool(*b)),
            (_, Arg::Number(_, num)) => self.ideal_constant(pos, num),
            (_, Arg::Str { text, .. }) => Ok(Value::str(text)),
            _ => self.err(At(pos, n), format!("can't handle {n} for arg")),
        }
    }
}

fn param_type(p: Param) -> &'static str {
    match p {
        Param::Str => "string",
        Param::Int => "int",
        Param::Bool => "bool",
        Param::Map => "map[string]interface {}",
        Param::Value => "reflect.Value",
        Param::Any => "interface {}",
        Param::Int64 => "int64",
        Param::Uint32 => "uint32",
        Param::Float => "float64",
        Param::Time => "time.Time",
        Param::List => "[]interface {}",
        Param::Object(t) => t,
    }
}

fn param_at(sig: &Sig, i: usize) -> Param {
    if i < sig.fixed.len() {
        sig.fixed[i]
    } else {
        sig.variadic.unwrap_or(Param::Value)
    }
}
