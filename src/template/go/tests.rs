//! Engine-level tests: the data protocol (NeedData, placeholders, errors), literal requests,
//! verbatim secret values, limits, and a property test that no input panics or hangs.

use std::sync::Arc;

use proptest::prelude::*;

use super::GoEngine;
use crate::template::{
    DataRequest, DataValue, ProjectRef, RenderOutcome, Secret, SecretFields, SharedSecret,
    Snapshot, TemplateEngine,
};

fn render(src: &str, data: &Snapshot) -> Result<RenderOutcome, String> {
    let t = GoEngine
        .compile("t", src.as_bytes())
        .map_err(|e| e.message)?;
    t.render(data).map_err(|e| e.message)
}

fn done(src: &str, data: &Snapshot) -> Vec<u8> {
    match render(src, data) {
        Ok(RenderOutcome::Done(out)) => out,
        other => panic!("expected output, got {other:?}"),
    }
}

fn list_req(path: &str) -> DataRequest {
    DataRequest::ListSecrets {
        project: ProjectRef::Id("p".into()),
        environment: "dev".into(),
        path: path.into(),
        recursive: false,
        expand_references: true,
    }
}

fn get_req(name: &str) -> DataRequest {
    DataRequest::GetSecret {
        project_id: "p".into(),
        environment: "dev".into(),
        path: "/".into(),
        name: name.into(),
    }
}

fn secret(key: &str, value: &str, path: &str) -> Secret {
    Secret::new(SecretFields {
        key: key.into(),
        value: value.into(),
        secret_path: path.into(),
        r#type: "shared".into(),
        ..SecretFields::default()
    })
    .unwrap()
}

#[test]
fn missing_data_is_requested_in_first_call_order_then_rendered() {
    let src = r#"{{ range secret "p" "dev" "/" }}{{ .Key }}={{ .Value }};{{ end }}{{ (getSecretByName "p" "dev" "/" "A").Value }}{{ with dynamic_secret "s" "dev" "/" "redis" "1m" }}[{{ .USER }}]{{ end }}{{ range secret "p" "dev" "/" }}{{ end }}"#;
    let dynamic = DataRequest::DynamicSecret {
        project_slug: "s".into(),
        environment: "dev".into(),
        path: "/".into(),
        name: "redis".into(),
        ttl: Some("1m".into()),
    };
    let mut data = Snapshot::new();
    match render(src, &data).unwrap() {
        RenderOutcome::NeedData(reqs) => {
            assert_eq!(reqs, vec![list_req("/"), get_req("A"), dynamic.clone()])
        }
        other => panic!("{other:?}"),
    }
    data.insert(
        list_req("/"),
        Ok(DataValue::Secrets(Arc::new(vec![
            secret("B", "2", "/"),
            secret("A", "1", "/"),
        ]))),
    );
    data.insert(
        get_req("A"),
        Ok(DataValue::Secret(SharedSecret::single(secret(
            "A", "1", "/",
        )))),
    );
    let creds = serde_json::json!({"USER": "u", "PORT": 5432});
    data.insert(
        dynamic,
        Ok(DataValue::Credentials(Arc::new(
            creds.as_object().unwrap().clone(),
        ))),
    );
    assert_eq!(done(src, &data), b"A=1;B=2;1[u]");
}

#[test]
fn repeated_calls_see_the_same_lists_and_fresh_credential_maps() {
    // A list converted once per render is shared by later calls; a credentials map is not,
    // since Sprig's `set` changes a map in place and must not reach the next call.
    let dynamic = DataRequest::DynamicSecret {
        project_slug: "s".into(),
        environment: "dev".into(),
        path: "/".into(),
        name: "redis".into(),
        ttl: None,
    };
    let mut data = Snapshot::new();
    data.insert(
        list_req("/"),
        Ok(DataValue::Secrets(Arc::new(vec![
            secret("B", "2", "/"),
            secret("A", "1", "/"),
        ]))),
    );
    let creds = serde_json::json!({"USER": "u"});
    data.insert(
        dynamic,
        Ok(DataValue::Credentials(Arc::new(
            creds.as_object().unwrap().clone(),
        ))),
    );
    let src = r#"{{ range $i := list 1 2 3 }}{{ range secret "p" "dev" "/" }}{{ .Key }}{{ end }};{{ end }}{{ $c := dynamic_secret "s" "dev" "/" "redis" }}{{ $_ := set $c "USER" "changed" }}{{ $c.USER }} {{ (dynamic_secret "s" "dev" "/" "redis").USER }}"#;
    assert_eq!(done(src, &data), b"AB;AB;AB;changed u");
}

#[test]
fn placeholder_errors_are_suppressed_while_data_is_missing() {
    let src = r#"{{ (index (secret "p" "dev" "/") 0).Key }}{{ (getSecretByName "p" "dev" "/" "A").Value.Foo }}"#;
    match render(src, &Snapshot::new()).unwrap() {
        RenderOutcome::NeedData(reqs) => assert_eq!(reqs, vec![list_req("/")]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn fetch_errors_become_function_errors() {
    let mut data = Snapshot::new();
    data.insert(get_req("A"), Err("secret \"A\" not found".into()));
    let err = render(r#"x{{ getSecretByName "p" "dev" "/" "A" }}"#, &data).unwrap_err();
    assert_eq!(
        err,
        r#"template: t:1:4: executing "t" at <getSecretByName "p" "dev" "/" "A">: error calling getSecretByName: secret "A" not found"#
    );
}

#[test]
fn literal_requests_in_source_order_deduplicated() {
    let src = r#"{{ define "T" }}{{ getSecretByName "p" "dev" "/" "A" }}{{ end }}
{{ range secret "p" "dev" "/" }}{{ end }}{{ $x := "/" }}{{ secret "p" "dev" $x }}
{{ "/db" | secret "p" "dev" }}{{ secret "p" "dev" "/bad" "{nope" }}{{ (secret "p" "dev" "/" `{"Recursive": true}`) }}
{{ secret "p" "dev" "/" }}{{ if false }}{{ listSecretsByProjectSlug "slug" "dev" "/x" }}{{ end }}"#;
    let t = GoEngine.compile("t", src.as_bytes()).unwrap();
    let recursive = DataRequest::ListSecrets {
        project: ProjectRef::Id("p".into()),
        environment: "dev".into(),
        path: "/".into(),
        recursive: true,
        expand_references: true,
    };
    let slug = DataRequest::ListSecrets {
        project: ProjectRef::Slug("slug".into()),
        environment: "dev".into(),
        path: "/x".into(),
        recursive: false,
        expand_references: true,
    };
    assert_eq!(
        t.literal_requests(),
        vec![get_req("A"), list_req("/"), recursive, slug]
    );
}

#[test]
fn secret_values_render_verbatim() {
    let tricky = "{{ .Value }} <b>&amp; 'q' \"dq\"\nline2\0nul é 🔑 %s %!";
    let mut data = Snapshot::new();
    data.insert(
        get_req("A"),
        Ok(DataValue::Secret(SharedSecret::single(secret(
            "A", tricky, "/",
        )))),
    );
    let src = r#"{{ with getSecretByName "p" "dev" "/" "A" }}{{ .Value }}|{{ printf "%s" .Value }}|{{ print .Value }}{{ end }}"#;
    assert_eq!(
        done(src, &data),
        format!("{tricky}|{tricky}|{tricky}").as_bytes()
    );
}

#[test]
fn errors_never_show_secret_values() {
    let value = "hunter2-very-secret";
    let mut data = Snapshot::new();
    data.insert(
        get_req("A"),
        Ok(DataValue::Secret(SharedSecret::single(secret(
            "A", value, "/",
        )))),
    );
    for body in [
        "{{ range .Value }}{{ end }}",
        "{{ .Value.Field }}",
        "{{ eq .Value 1 }}",
        "{{ lt .Value true }}",
        "{{ len 3 }}{{ .Value }}",
        "{{ index .Value 99 }}",
        "{{ slice .Value 5 2 }}",
        "{{ secret .Value }}",
        "{{ getSecretByName 1 2 3 .Value }}",
        "{{ dynamic_secret .Value }}",
        "{{ secret \"p\" \"dev\" \"/\" .Value }}",
        "{{ template \"nope\" .Value }}",
    ] {
        let src = format!(r#"{{{{ with getSecretByName "p" "dev" "/" "A" }}}}{body}{{{{ end }}}}"#);
        let err = render(&src, &data).expect_err(body);
        assert!(!err.contains(value), "{body}: {err}");
        assert!(err.starts_with("template: t:1:"), "{err}");
    }
}

#[test]
fn parse_errors_name_template_and_line() {
    let e = GoEngine
        .compile("conf.tmpl", b"a\n{{ if true }}\n{{ nosuch }}")
        .unwrap_err();
    assert_eq!(
        e.message,
        "template: conf.tmpl:3: function \"nosuch\" not defined"
    );
    assert_eq!(e.line, Some(3));
    assert_eq!(e.column, Some(4));
}

#[test]
fn runaway_recursion_fails_cleanly_on_a_small_stack() {
    let src = r#"{{ define "r" }}{{ if true }}{{ with 1 }}{{ range $ }}{{ template "r" (slice $ 0 (len (print (print (print 1))))) }}{{ end }}{{ end }}{{ end }}{{ end }}{{ template "r" (list 1) }}"#;
    // Run on a thread with the stack renders get: the depth limit must stop before it overflows
    // even in a debug build, whose frames are about five times larger.
    let out = std::thread::Builder::new()
        .stack_size(crate::template::RENDER_STACK_BYTES)
        .spawn(move || render(src, &Snapshot::new()))
        .unwrap()
        .join()
        .unwrap();
    assert!(out.unwrap_err().contains("exceeded maximum template depth"));
    // The same through deeply nested parentheses, the costliest frames per level.
    let parens = format!(
        r#"{{{{ define "r" }}}}{{{{ template "r" {}1{} }}}}{{{{ end }}}}{{{{ template "r" }}}}"#,
        "(print ".repeat(90),
        ")".repeat(90)
    );
    let out = std::thread::Builder::new()
        .stack_size(crate::template::RENDER_STACK_BYTES)
        .spawn(move || render(&parens, &Snapshot::new()))
        .unwrap()
        .join()
        .unwrap();
    assert!(out.unwrap_err().contains("exceeded maximum template depth"));
}

#[test]
fn output_and_work_are_bounded() {
    let big = r#"{{ $s := printf "%1000000s" "" }}{{ range repeat 99 "," | splitList "," }}{{ $s }}{{ end }}"#;
    assert!(render(big, &Snapshot::new())
        .unwrap_err()
        .contains("output exceeds"));
    let busy = r#"{{ $l := repeat 999 "," | splitList "," }}{{ range $l }}{{ range $l }}{{ range $l }}{{ end }}{{ end }}{{ end }}"#;
    assert!(render(busy, &Snapshot::new())
        .unwrap_err()
        .contains("more than"));
}

fn fragment() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"{{".to_vec()),
        Just(b"}}".to_vec()),
        Just(b"{{-".to_vec()),
        Just(b" -}}".to_vec()),
        Just(b"/*".to_vec()),
        Just(b"*/".to_vec()),
        Just(b" if ".to_vec()),
        Just(b" else ".to_vec()),
        Just(b" end ".to_vec()),
        Just(b" range ".to_vec()),
        Just(b" with ".to_vec()),
        Just(b" define \"T\" ".to_vec()),
        Just(b" template \"T\" ".to_vec()),
        Just(b" block \"B\" . ".to_vec()),
        Just(b" break ".to_vec()),
        Just(b" $x := ".to_vec()),
        Just(b" $x ".to_vec()),
        Just(b" . ".to_vec()),
        Just(b".A.B".to_vec()),
        Just(b" | ".to_vec()),
        Just(b"(".to_vec()),
        Just(b")".to_vec()),
        Just(b" printf \"%d %s %[2]q %*x\" ".to_vec()),
        Just(b" index ".to_vec()),
        Just(b" slice ".to_vec()),
        Just(b" len ".to_vec()),
        Just(b" eq ".to_vec()),
        Just(b" and ".to_vec()),
        Just(b" 1 ".to_vec()),
        Just(b" -3 ".to_vec()),
        Just(b" 1e9 ".to_vec()),
        Just(b" 'a' ".to_vec()),
        Just(b" \"s\" ".to_vec()),
        Just(b" secret \"p\" \"dev\" \"/\" ".to_vec()),
        Just(b" getSecretByName \"p\" \"dev\" \"/\" \"A\" ".to_vec()),
        Just(b" dict \"k\" ".to_vec()),
        Just(b" set $x \"k\" ".to_vec()),
        Just(b" list ".to_vec()),
        Just(b" repeat 3 ".to_vec()),
        Just(b" substr 1 ".to_vec()),
        Just(b" trunc -2 ".to_vec()),
        Just(b" indent 2 ".to_vec()),
        Just(b" toJson ".to_vec()),
        Just(b" fromJson ".to_vec()),
        Just(b" regexReplaceAll \"(a*)\" ".to_vec()),
        Just(b" default ".to_vec()),
        Just(b" first ".to_vec()),
        Just(b" div 1 ".to_vec()),
        prop::collection::vec(any::<u8>(), 0..6),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(src in prop::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(t) = GoEngine.compile("p", &src) {
            let _ = t.render(&Snapshot::new());
            let _ = t.literal_requests();
        }
    }

    #[test]
    fn template_shaped_input_never_panics(parts in prop::collection::vec(fragment(), 0..40)) {
        let src: Vec<u8> = parts.concat();
        if let Ok(t) = GoEngine.compile("p", &src) {
            let _ = t.render(&Snapshot::new());
            let _ = t.literal_requests();
        }
    }
}

#[test]
fn go_semantics_beyond_the_corpus() {
    let data = Snapshot::new();
    let out = |s: &str| String::from_utf8(done(s, &data)).unwrap();
    // Go 1.23 (the reference) cannot range over an integer; Go 1.24 can.
    assert!(render("{{ range 3 }}{{ . }}{{ end }}", &data).is_err());
    assert!(render("{{ range 0 }}x{{ else }}none{{ end }}", &data).is_err());
    assert_eq!(out("{{ $ = 5 }}{{ $ }}"), "5");
    assert_eq!(
        out(r#"{{ $m := fromJson "{\"a\": null}" }}[{{ $m.nope.deeper }}]"#),
        "[<no value>]"
    );
    assert!(
        render(r#"{{ $m := fromJson "{\"a\": null}" }}{{ $m.a.b }}"#, &data)
            .unwrap_err()
            .contains("nil pointer evaluating interface {}.b")
    );
    assert!(render("{{ eq (list 1) (list 1) }}", &data)
        .unwrap_err()
        .contains("non-comparable"));
    assert_eq!(out("{{ index \"abc\" 1 }} {{ printf \"%T\" (index \"abc\" 1) }} {{ eq (index \"abc\" 0) 'a' }}"), "98 uint8 true");
    assert_eq!(
        out("{{ 1+2i }} {{ printf \"%.1f\" 1.5-2i }} {{ 0x1p-2 }} {{ -0.0 }}"),
        "(1+2i) (1.5-2.0i) 0.25 -0"
    );
    assert_eq!(out("{{ with $x := 0 }}a{{ else }}{{ $x }}{{ end }}"), "0");
    assert_eq!(
        out("{{ range $i, $c := list \"a\" \"b\" }}{{ if $i }},{{ end }}{{ $c }}{{ end }}"),
        "a,b"
    );
}

#[test]
fn a_growth_bomb_under_the_step_and_output_limits_stops_at_the_value_budget() {
    // 16 bytes doubled 26 times is 1 GiB, in a few dozen steps and no output at all.
    let bomb =
        r#"{{ $s := "aaaaaaaaaaaaaaaa" }}{{ range until 26 }}{{ $s = print $s $s }}{{ end }}done"#;
    let e = render(bomb, &Snapshot::new()).unwrap_err();
    assert!(e.contains("more than 256 MiB of values"), "{e}");
    // Lists of fresh strings count their strings too.
    let lists = r#"{{ $s := repeat 1048576 "x" }}{{ range until 300 }}{{ $l := splitList "," (print $s "," $s) }}{{ end }}"#;
    let e = render(lists, &Snapshot::new()).unwrap_err();
    assert!(e.contains("MiB of values"), "{e}");
}

#[test]
fn entries_set_into_a_map_count_against_the_budget() {
    // 1,500 keys of 100 KB: 150 MB of fresh strings, and as much again in the copies `set` keeps
    // as the map's keys (the map itself is shared, so only `set`'s own count sees them).
    let src = r#"{{ $d := dict }}{{ range $i := until 1500 }}{{ $_ := set $d (printf "%0100000d" $i) "" }}{{ end }}{{ len $d }}"#;
    let e = render(src, &Snapshot::new()).unwrap_err();
    assert!(e.contains("more than 256 MiB of values"), "{e}");
    // Setting a key that is already there adds nothing.
    let same = r#"{{ $d := dict }}{{ $k := repeat 1048576 "k" }}{{ range until 1000 }}{{ $_ := set $d $k "" }}{{ end }}{{ len $d }}"#;
    assert_eq!(done(same, &Snapshot::new()), b"1");
}

#[test]
fn values_returned_as_they_are_do_not_count_against_the_budget() {
    // A 1 MiB string passed through `default` 1,000 times: 1 GiB if counted, nothing is built.
    let src = r#"{{ $big := repeat 1048576 "x" }}{{ range until 1000 }}{{ $v := default "" $big }}{{ end }}ok"#;
    assert_eq!(done(src, &Snapshot::new()), b"ok");
}

#[test]
fn a_million_nested_maps_or_lists_are_dropped_on_a_render_stack() {
    // Dropped by recursion, either chain overflowed the render thread's 2 MiB stack: an abort of
    // the whole process, not an error.
    for build in [
        r#"$m = dict "x" $m"#,
        "$m = list $m",
        // A list `append` grew is followed by the spare-capacity table (a weak reference).
        "$m = compact (list $m)",
    ] {
        let src = format!(
            "{{{{ $m := dict }}}}{{{{ range until 1000000 }}}}{{{{ {build} }}}}{{{{ end }}}}{{{{ $m = 0 }}}}ok"
        );
        let out = std::thread::Builder::new()
            .stack_size(crate::template::RENDER_STACK_BYTES)
            .spawn(move || done(&src, &Snapshot::new()))
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(out, b"ok");
    }
}
