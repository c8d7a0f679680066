//! Sprig functions, each checked against the examples of Sprig's documentation.

use super::GoEngine;
use crate::template::{RenderOutcome, Snapshot, TemplateEngine};

fn r(src: &str) -> String {
    let t = GoEngine
        .compile("s", src.as_bytes())
        .unwrap_or_else(|e| panic!("{src}: {}", e.message));
    match t.render(&Snapshot::new()) {
        Ok(RenderOutcome::Done(out)) => String::from_utf8(out).unwrap(),
        other => panic!("{src}: {other:?}"),
    }
}

fn fails(src: &str) -> bool {
    match GoEngine.compile("s", src.as_bytes()) {
        Ok(t) => t.render(&Snapshot::new()).is_err(),
        Err(_) => true,
    }
}

#[test]
fn defaults_and_conditionals() {
    assert_eq!(r(r#"{{ default "foo" .Bar }}"#), "foo");
    assert_eq!(
        r(r#"{{ "" | default "foo" }}|{{ "x" | default "foo" }}|{{ 0 | default 7 }}"#),
        "foo|x|7"
    );
    assert_eq!(
        r(r#"{{ empty .Foo }} {{ empty "" }} {{ empty 0 }} {{ empty "a" }} {{ empty (list) }}"#),
        "true true true false true"
    );
    assert_eq!(
        r(r#"{{ coalesce 0 1 2 }} {{ coalesce .name .parent.name "Matt" }}"#),
        "1 Matt"
    );
    assert_eq!(
        r(
            r#"{{ ternary "foo" "bar" true }} {{ true | ternary "foo" "bar" }} {{ false | ternary "foo" "bar" }}"#
        ),
        "foo foo bar"
    );
}

#[test]
fn string_functions() {
    assert_eq!(
        r(r#"{{ quote "hello" }} {{ squote "hello" }} {{ quote "a\"b" 1 }}"#),
        r#""hello" 'hello' "a\"b" "1""#
    );
    assert_eq!(
        r(
            r#"[{{ trim "   hello    " }}] {{ trimAll "$" "$5.00" }} {{ trimSuffix "-" "hello-" }} {{ trimPrefix "-" "-hello" }}"#
        ),
        "[hello] 5.00 hello hello"
    );
    assert_eq!(
        r(r#"{{ upper "hello" }} {{ lower "HELLO" }} {{ title "hello world" }}"#),
        "HELLO hello Hello World"
    );
    assert_eq!(
        r(
            r#"{{ repeat 3 "hello" }} {{ substr 0 5 "hello world" }} {{ nospace "hello w o r l d" }}"#
        ),
        "hellohellohello hello helloworld"
    );
    assert_eq!(
        r(r#"{{ trunc 5 "hello world" }} {{ trunc -5 "hello world" }} {{ trunc 50 "hi" }}"#),
        "hello world hi"
    );
    assert_eq!(
        r(
            r#"{{ contains "cat" "catch" }} {{ hasPrefix "cat" "catch" }} {{ hasSuffix "cat" "catch" }}"#
        ),
        "true true false"
    );
    assert_eq!(
        r(r#"{{ "I Am Henry VIII" | replace " " "-" }}"#),
        "I-Am-Henry-VIII"
    );
    assert_eq!(
        r("{{ indent 4 \"a\\nb\" }}|{{ nindent 2 \"x\" }}"),
        "    a\n    b|\n  x"
    );
    assert_eq!(
        r(
            r#"{{ splitList "$" "foo$bar$baz" }} {{ $a := split "$" "foo$bar$baz" }}{{ $a._0 }}{{ $a._2 }}"#
        ),
        "[foo bar baz] foobaz"
    );
    assert_eq!(
        r(
            r#"{{ join "_" (list "hello" "world") }} {{ list 1 2 3 | join "-" }} {{ join "," "one" }}"#
        ),
        "hello_world 1-2-3 one"
    );
    assert_eq!(
        r(r#"{{ toString 5 }} {{ printf "%T" (toString 1.5) }}"#),
        "5 string"
    );
    assert!(fails(r#"{{ repeat -1 "x" }}"#));
    assert!(fails(r#"{{ substr 4 2 "hello" }}"#));
    assert!(fails(r#"{{ upper 3 }}"#));
}

#[test]
fn lists_and_dicts() {
    assert_eq!(
        r(r#"{{ first (list 1 2 3) }} {{ last (list 1 2 3) }} {{ first (list) }}"#),
        "1 3 <no value>"
    );
    assert_eq!(
        r(r#"{{ has 4 (list 1 2 3 4) }} {{ has "4" (list 1 2 3 4) }} {{ has 1 nil }}"#),
        "true false false"
    );
    assert!(fails(r#"{{ first "abc" }}"#));
    let d = r#"{{ $myDict := dict "name1" "value1" "name2" "value2" }}"#;
    assert_eq!(
        r(&format!(
            r#"{d}{{{{ get $myDict "name1" }}}}[{{{{ get $myDict "nope" }}}}]"#
        )),
        "value1[]"
    );
    assert_eq!(
        r(&format!(
            r#"{d}{{{{ $_ := set $myDict "name4" "value4" }}}}{{{{ $myDict.name4 }}}} {{{{ hasKey $myDict "name1" }}}} {{{{ hasKey $myDict "x" }}}}"#
        )),
        "value4 true false"
    );
    assert_eq!(
        r(&format!(
            r#"{d}{{{{ keys $myDict }}}} {{{{ values $myDict }}}} {{{{ len $myDict }}}}"#
        )),
        "[name1 name2] [value1 value2] 2"
    );
    assert_eq!(
        r(
            r#"{{ pluck "name1" (dict "name1" "value1") (dict "name1" "otherValue1") (dict "x" 1) }}"#
        ),
        "[value1 otherValue1]"
    );
    assert_eq!(r(r#"{{ dict "a" 1 "b" }}"#), "map[a:1 b:]");
    // A map holding itself prints without recursing forever.
    assert!(r(r#"{{ $d := dict }}{{ $_ := set $d "self" $d }}{{ $d }}"#).contains("..."));
}

#[test]
fn encodings_and_hashes() {
    assert_eq!(
        r(r#"{{ b64enc "hello" }} {{ b64dec "aGVsbG8=" }} {{ b64dec "!!" }}"#),
        "aGVsbG8= hello illegal base64 data at input byte 0"
    );
    assert_eq!(
        r(r#"{{ sha256sum "Hello world!" }}"#),
        "c0535e4be2b79ffd93291305436bf889314e4a3faec05ecffcbb7df31ad9e51a"
    );
    assert_eq!(
        r(r#"{{ sha1sum "Hello world!" }}"#),
        "d3486ae9136e7856bc42212385ea797094475802"
    );
    assert_eq!(
        r(r#"{{ toJson (dict "a" 1 "b" (list "<x>" true nil)) }}"#),
        r#"{"a":1,"b":["\u003cx\u003e",true,null]}"#
    );
    assert_eq!(
        r(r#"{{ toPrettyJson (dict "a" (list 1)) }}"#),
        "{\n  \"a\": [\n    1\n  ]\n}"
    );
    assert_eq!(
        r(
            r#"{{ $o := fromJson "{\"a\": 1, \"b\": [2]}" }}{{ $o.a }} {{ index $o.b 0 }} {{ fromJson "nope" }}"#
        ),
        "1 2 <no value>"
    );
}

#[test]
fn numbers() {
    assert_eq!(
        r(
            r#"{{ atoi "42" }} {{ atoi "x" }} {{ int "3" }} {{ int 3.9 }} {{ int "0x1F" }} {{ int "10.00" }}"#
        ),
        "42 0 3 3 31 10"
    );
    assert_eq!(
        r(r#"{{ add 1 2 3 }} {{ sub 5 2 }} {{ mul 2 3 4 }} {{ div 10 3 }} {{ mod 10 3 }}"#),
        "6 3 24 3 1"
    );
    assert!(fails(r#"{{ div 1 0 }}"#));
    assert_eq!(
        r(
            r#"{{ add1 41 }} {{ sortAlpha (list "b" "a" 3) }} {{ keys (dict "z" 1 "y" 2) | sortAlpha | join "," }}"#
        ),
        "42 [3 a b] y,z"
    );
}

#[test]
fn time_random_and_regex() {
    let today = chrono::Local::now().format("%Y-%m-%d").to_string();
    assert_eq!(r(r#"{{ now | date "2006-01-02" }}"#), today);
    assert!(r("{{ now }}").starts_with(&today));
    let epoch = r(r#"{{ date "2006" 0 }}"#);
    assert!(epoch == "1970" || epoch == "1969", "{epoch}");
    let id = r("{{ uuidv4 }}");
    assert_eq!(id.len(), 36);
    assert_eq!(&id[14..15], "4");
    let rnd = r("{{ randAlphaNum 10 }}");
    assert_eq!(rnd.len(), 10);
    assert!(rnd.bytes().all(|c| c.is_ascii_alphanumeric()));
    assert_eq!(
        r(
            r#"{{ regexMatch "^[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\\.[A-Za-z]{2,}$" "test@acme.com" }} {{ regexMatch "(" "x" }}"#
        ),
        "true false"
    );
    assert_eq!(
        r(r#"{{ regexReplaceAll "a(x*)b" "-ab-axxb-" "${1}W" }}"#),
        "-W-xxW-"
    );
    assert!(fails(r#"{{ regexReplaceAll "(" "x" "y" }}"#));
}

#[test]
fn env_functions_are_not_provided() {
    assert!(GoEngine.compile("s", b"{{ env \"HOME\" }}").is_err());
    assert!(GoEngine.compile("s", b"{{ expandenv \"$HOME\" }}").is_err());
}

#[test]
fn every_name_belongs_to_one_family_and_has_a_signature() {
    let mut seen = std::collections::HashSet::new();
    for f in super::sprig::FAMILIES {
        for name in f.names {
            assert!(seen.insert(*name), "{name} is in two families");
            assert!((f.signature)(name).is_some(), "{name} has no signature");
            assert!(super::sprig::lookup(name).is_some(), "{name} is not found");
        }
    }
}

// ---- encoding ----

#[test]
fn encoding_get_host_by_name_does_no_io() {
    let t = GoEngine
        .compile("s", br#"{{ getHostByName "localhost" }}"#)
        .unwrap();
    let err = t.render(&Snapshot::new()).unwrap_err();
    assert!(
        format!("{err:?}").contains("templates do no network I/O"),
        "{err:?}"
    );
}

#[test]
fn encoding_large_inputs_are_bounded() {
    // b32enc of a large string is refused before it is built past the output cap.
    assert!(fails(
        r#"{{ $s := repeat 4500000 "0123456789" }}{{ b32enc $s | len }}"#
    ));
    assert_eq!(r(r#"{{ b32enc (repeat 1000 "ab") | len }}"#), "3200");
    assert_eq!(
        r(r#"{{ urlJoin (dict "path" (repeat 10000 "?")) | len }}"#),
        "30000"
    );
}

// ---- crypto ----

#[test]
fn crypto_bcrypt_and_htpasswd_verify() {
    let h = r(r#"{{ bcrypt "s3cret ✓" }}"#);
    assert!(h.starts_with("$2a$10$"), "{h}");
    assert!(bcrypt::verify("s3cret ✓", &h).unwrap());
    assert!(!bcrypt::verify("s3cret", &h).unwrap());
    let line = r(r#"{{ htpasswd "admin" "pw" }}"#);
    let (user, hash) = line.split_once(':').unwrap();
    assert_eq!(user, "admin");
    assert!(bcrypt::verify("pw", hash).unwrap());
}

#[test]
fn crypto_counts_and_days_are_bounded() {
    // Refused before anything is built or generated.
    assert!(fails(r#"{{ randBytes 2000000 }}"#));
    assert!(fails(r#"{{ randBytes 9223372036854775807 }}"#));
    assert!(fails(r#"{{ randBytes -9223372036854775808 }}"#));
    assert_eq!(r(r#"{{ randBytes 1000000 | len }}"#), "1333336");
    for src in [
        r#"{{ genCA "x" 106752 }}"#,
        r#"{{ genCA "x" -9223372036854775808 }}"#,
        r#"{{ genSelfSignedCert "x" nil nil 9223372036854775807 }}"#,
        r#"{{ genSelfSignedCertWithKey "x" nil nil -106752 (genPrivateKey "ecdsa") }}"#,
    ] {
        assert!(fails(src), "{src}");
    }
    for days in [106751, -106751] {
        let src = format!(
            r#"{{{{ (genSelfSignedCertWithKey "x" nil nil {days} (genPrivateKey "ed25519")).Cert | hasPrefix "-----BEGIN" }}}}"#
        );
        assert_eq!(r(&src), "true", "{days}");
    }
    // A huge input to encryptAES is refused by the output cap, not built.
    assert!(fails(r#"{{ encryptAES "k" (repeat 60000000 "x") }}"#));
}

#[test]
fn crypto_signed_certificates_verify_against_their_ca() {
    use x509_parser::prelude::*;
    let out = r(
        r#"{{ $ca := genCA "my-ca" 365 }}{{ $c := genSignedCertWithKey "svc" (list "10.0.0.1" "::ffff:1.2.3.4" "::1") (list "a.example") 30 $ca (genPrivateKey "ecdsa") }}{{ $ca.Cert }}@@{{ $c.Cert }}"#,
    );
    let (ca_pem, leaf_pem) = out.split_once("@@").unwrap();
    let der = |pem: &str| {
        let (_, p) = parse_x509_pem(pem.as_bytes()).unwrap();
        p.contents
    };
    let (ca_der, leaf_der) = (der(ca_pem), der(leaf_pem));
    let (_, ca) = parse_x509_certificate(&ca_der).unwrap();
    let (_, leaf) = parse_x509_certificate(&leaf_der).unwrap();
    assert!(ca.is_ca());
    assert!(!leaf.is_ca());
    assert_eq!(leaf.issuer(), ca.subject());
    assert_eq!(leaf.subject().to_string(), "CN=svc");
    let days =
        (leaf.validity().not_after.timestamp() - leaf.validity().not_before.timestamp()) / 86_400;
    assert_eq!(days, 30);
    let sans = leaf.subject_alternative_name().unwrap().unwrap();
    let names: Vec<String> = sans
        .value
        .general_names
        .iter()
        .map(|g| format!("{g:?}"))
        .collect();
    assert_eq!(names.len(), 4, "{names:?}");
    assert!(
        names[1].contains("[1, 2, 3, 4]"),
        "an IPv4-mapped address is IPv4: {names:?}"
    );
    let ca_key = ring::signature::UnparsedPublicKey::new(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        ca.public_key().subject_public_key.data.to_vec(),
    );
    ca_key
        .verify(leaf.tbs_certificate.as_ref(), &leaf.signature_value.data)
        .expect("the leaf is signed by the CA");
    // 128 random bits, a positive INTEGER.
    assert!((1..=17).contains(&leaf.raw_serial().len()));
}

#[test]
fn encoding_url_parse_refuses_what_go_refuses() {
    // Generated URL-ish strings that Go's url.Parse (through Sprig's urlParse) refused.
    for u in [
        "'-%-",
        "http:// s3",
        "..=~]%:'%zz/",
        "http://pw@%::1ü..",
        "%zz#::1/%",
        "::1:_%zz&::1",
        "%zz%zz::1pw/!&",
        "http:////1//a1:&%zz",
        "//a[_'s3%2F ",
        "http://[http+[s3",
        "http://%zzhost.example&a=[",
        "http://::1%%+",
        "http://:-//http+*/=h",
        "http://a.:%zz",
        "http://+=/%41s3//;:%zz",
        "http://;*%zz=+.~",
        "http://:'",
        "http://%2F!a%zz'~",
        "_http::1.%2580=",
        "http://pw%",
        "http:// host.example%25a?s3",
        "]-%25%zzB",
        "%+B#%25",
        "http://:ü s3",
        "http://%zzhttpuser]#80%25*",
        "http:// ",
        "//::1:host.example~B",
        "-:üuser",
        "http://s3 ~",
        "http:// httpü%as3+::1",
        "=%üuser",
        "http://1@::1%zz;*~%25%2F",
        "+%41~'a:user",
        ":..host.example!",
        "http://%41::1+",
        "http:///80%zz[]a",
        "http://%2F:.._ http%25]",
        "http://80%2F//*%%25",
        "http://]%41pw",
        "http://h#%zz%2F",
        "http://http=80.ü&:h~",
        "host.example'%:?a'",
        "http://::11.. ~a+1//",
        "http://%25:~80..;",
        "http://:%2F%2F",
        "http%41!%zzü_",
        "http://B% '",
        "::1=s3hBB%2F",
        "http://-%2F::1;+1[_",
        "///.@%-host.example1",
        "%2F::1?B::1http",
        "::1",
        "http://-s3:s3",
        "http://%41[.::1%25#%80&",
        "http://%4180;%25?*",
        "%!//",
        "http://a%h80%4180/]",
        "http://.pwaü=user@",
        "a%2F%user",
        "#%a",
        ";userB%zz-a?@",
        "http://%2Fuser",
        "%zz;&=a%;%25http",
        "// a ",
        ";-//a::1%41%#..",
        "::1host.example%.",
        "://",
        "h%::1=+80*:",
        "%host.example+",
        "http://::1=+..@%2F-%",
        ":@+..pw=",
        "http://%user/",
        "http://%41B%2Fs3",
        ":~pw",
        "http://%:[::1h",
        "-::1+_%41",
        "http://a/~..%zzuser..%2F",
        "=host.example::1http_http'a",
        "http://]%",
        "..pw:",
    ] {
        let src = format!("{{{{ urlParse {u:?} }}}}");
        assert!(fails(&src), "{u:?} parsed, Go refuses it");
    }
}
// ---- lists ----

fn big_list(n: i64) -> super::value::Value {
    use super::value::{ElemType, Value};
    Value::List(
        std::rc::Rc::new((0..n).map(Value::Int).collect()),
        ElemType::Any,
    )
}

#[test]
fn lists_bound_what_they_build() {
    use super::sprig_lists::call;
    // concat doubling a list runs into the item bound instead of memory.
    let half = big_list(600_000);
    assert!(call("concat", &[half.clone(), half.clone()]).is_err());
    assert!(call("concat", std::slice::from_ref(&half)).is_ok());
    // uniq of many distinct items is not quadratic.
    let start = std::time::Instant::now();
    let Ok(super::value::Value::List(ref u, _)) = call("uniq", &[big_list(200_000)]) else {
        panic!("uniq failed")
    };
    assert_eq!(u.len(), 200_000);
    assert!(start.elapsed() < std::time::Duration::from_secs(5));
}

#[test]
fn lists_odd_sizes_and_indices_are_errors_not_panics() {
    assert!(fails("{{ chunk 0 (list 1 2) }}"));
    assert!(fails("{{ chunk -1 (list) }}"));
    assert_eq!(r("{{ chunk -9223372036854775808 (list 1 2) }}"), "[]");
    assert_eq!(r("{{ chunk 9223372036854775807 (list 1 2) }}"), "[[1 2]]");
    assert!(fails("{{ mustSlice (list 1) 0 9223372036854775807 }}"));
    assert!(fails("{{ mustSlice (list 1) -9223372036854775808 }}"));
    assert!(!fails(
        r#"{{ mustSlice (list 1 2) "9999999999999999999999" 1 }}"#
    ));
    assert!(fails("{{ rest nil }}"));
    assert_eq!(
        r("{{ mustHas 1 nil }} {{ uniq (list 1.5 1.5) }}"),
        "false [1.5]"
    );
    // NaN equals nothing, not even itself.
    use super::value::{ElemType, Value};
    let nans = Value::List(
        std::rc::Rc::new(vec![Value::Float(f64::NAN), Value::Float(f64::NAN)]),
        ElemType::Any,
    );
    match super::sprig_lists::call("uniq", &[nans]) {
        Ok(Value::List(ref l, _)) => assert_eq!(l.len(), 2),
        other => panic!("{other:?}"),
    }
}

// ---- dicts ----

#[test]
fn dicts_self_holding_maps_stop_with_an_error() {
    // Go recurses forever (a fatal stack overflow); the engine stops at a depth.
    let cyclic = r#"{{ $d := dict "a" 1 }}{{ $_ := set $d "self" $d }}"#;
    assert!(fails(&format!("{cyclic}{{{{ merge $d $d }}}}")));
    assert!(fails(&format!(
        "{cyclic}{{{{ mustMergeOverwrite $d $d }}}}"
    )));
    assert!(fails(&format!("{cyclic}{{{{ deepCopy $d }}}}")));
    assert!(fails(&format!("{cyclic}{{{{ mustToJson $d }}}}")));
    assert!(fails(&format!("{cyclic}{{{{ toRawJson $d }}}}")));
    // A map merged into itself once is fine.
    assert_eq!(
        r(r#"{{ $d := dict "a" (dict "b" 1) }}{{ merge $d $d | toJson }}"#),
        r#"{"a":{"b":1}}"#
    );
}

#[test]
fn dicts_deep_values_are_bounded() {
    use super::value::{ElemType, Value};
    let mut v = Value::Int(1);
    for _ in 0..500 {
        v = Value::List(std::rc::Rc::new(vec![v]), ElemType::Any);
    }
    assert!(super::sprig_dicts::call("deepCopy", &[v]).is_err());
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let src = format!("{{{{ mustFromJson {deep:?} }}}}");
    assert!(fails(&src));
}

#[test]
fn dicts_flow_and_raw_json() {
    match GoEngine
        .compile("s", b"a{{ fail \"no way\" }}b")
        .unwrap()
        .render(&Snapshot::new())
    {
        Err(e) => assert!(format!("{e:?}").contains("no way"), "{e:?}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        r(r#"{{ toRawJson (list "<&>" "\\u003c") }}"#),
        r#"["<&>","\\u003c"]"#
    );
    assert_eq!(
        r(r#"{{ mustFromJson "\"a\xe2\x82b\"" | printf "%q" }}"#),
        r#""a��b""#
    );
}

/// A map of `levels` levels whose every level holds the next one twice: 2^levels paths.
fn shared_maps(levels: usize) -> super::value::Value {
    use super::value::Value;
    let mut v = Value::map([(b"v".to_vec(), Value::Int(1))].into());
    for _ in 0..levels {
        v = Value::map([(b"x".to_vec(), v.clone()), (b"y".to_vec(), v)].into());
    }
    v
}

#[test]
fn dicts_maps_shared_many_times_over_do_not_hang() {
    use super::sprig_dicts::call;
    let start = std::time::Instant::now();
    let (a, b) = (shared_maps(60), shared_maps(60));
    assert!(matches!(
        call("deepEqual", &[a.clone(), b.clone()]),
        Ok(super::value::Value::Bool(true))
    ));
    assert!(call("deepCopy", std::slice::from_ref(&a)).is_err());
    assert!(call("merge", &[a.clone(), b.clone()]).is_err());
    assert!(call("mustMergeOverwrite", &[a.clone(), a.clone()]).is_err());
    assert!(super::sprig_lists::call(
        "uniq",
        &[super::value::Value::List(
            std::rc::Rc::new(vec![a.clone(), b.clone(), a]),
            super::value::ElemType::Any,
        )]
    )
    .is_ok());
    for f in [
        "mustToJson",
        "mustToPrettyJson",
        "toRawJson",
        "mustToRawJson",
    ] {
        assert!(call(f, std::slice::from_ref(&b)).is_err(), "{f}");
        assert!(call(f, &[shared_maps(5)]).is_ok(), "{f}");
    }
    assert!(start.elapsed() < std::time::Duration::from_secs(5));
    // A small one still copies and merges.
    assert!(call("deepCopy", &[shared_maps(5)]).is_ok());
    assert!(call("merge", &[shared_maps(5), shared_maps(5)]).is_ok());
    // Go compares maps holding themselves as equal.
    assert_eq!(
        r(
            r#"{{ $a := dict }}{{ $_ := set $a "s" $a }}{{ $b := dict }}{{ $_ = set $b "s" $b }}{{ deepEqual $a $b }}"#
        ),
        "true"
    );
}

#[derive(Debug)]
struct Opaque;

impl super::value::GoObject for Opaque {
    fn type_name(&self) -> &'static str {
        "*test.Opaque"
    }
    fn kind(&self) -> &'static str {
        "ptr"
    }
    fn member(
        &self,
        _: &str,
        _: &[super::value::Value],
    ) -> Option<Result<super::value::Value, String>> {
        None
    }
    fn display(&self) -> Vec<u8> {
        b"opaque".to_vec()
    }
    fn to_json(&self) -> Vec<u8> {
        b"{}".to_vec()
    }
    fn deep_copy(&self) -> Option<super::value::Value> {
        Some(super::value::Value::str("zero"))
    }
}

#[test]
fn dicts_deep_copy_asks_go_objects() {
    use super::value::Value;
    let obj = Value::Object(std::rc::Rc::new(Opaque));
    let d = Value::map([(b"v".to_vec(), obj)].into());
    let Ok(Value::Map(ref c)) = super::sprig_dicts::call("deepCopy", &[d]) else {
        panic!("deepCopy failed")
    };
    assert!(matches!(&c.borrow()[b"v".as_slice()], Value::Str(s) if &s[..] == b"zero"));
}
// ---- numbers ----

#[test]
fn numbers_counts_are_bounded_not_hung() {
    let t = std::time::Instant::now();
    assert!(fails("{{ until 100000000000 }}"));
    assert!(fails("{{ until -100000000000 }}"));
    assert!(fails("{{ untilStep 0 9223372036854775807 1 }}"));
    assert!(fails(
        "{{ untilStep 9223372036854775807 -9223372036854775808 -1 }}"
    ));
    assert!(fails("{{ seq 100000000000 }}"));
    assert!(fails("{{ seq 0 9223372036854775806 }}"));
    // end + 1 wraps to the start, as in Go: nothing.
    assert_eq!(r("{{ seq -9223372036854775808 9223372036854775807 }}"), "");
    // Go's int wraps past the end: it would loop for ever; here the count bound stops it.
    assert!(fails(
        "{{ untilStep 9223372036854775800 9223372036854775807 5 }}"
    ));
    assert_eq!(r("{{ len (until 1000000) }}"), "1000000");
    assert_eq!(r("{{ untilStep 0 10 0 }} {{ untilStep 10 0 0 }}"), "[] []");
    assert!(t.elapsed() < std::time::Duration::from_secs(20));
}

#[test]
fn numbers_decimal_chains_stay_small() {
    let t = std::time::Instant::now();
    let many = "1e-300 ".repeat(100);
    assert!(fails(&format!("{{{{ mulf 1 {many}}}}}")));
    let many = "1e-300 ".repeat(100);
    assert!(fails(&format!("{{{{ divf 1 {many}}}}}")));
    // Long but legal chains: exact decimals, cut with a sticky digit past 1200 digits.
    let thirds = "3 ".repeat(300);
    assert_eq!(
        r(&format!("{{{{ mulf 1 {thirds}}}}}")),
        "1.3689147905858837e+143"
    );
    assert_eq!(r(&format!("{{{{ divf 1 {thirds}}}}}")), "0");
    assert_eq!(
        r("{{ mulf 1.1 1.1 1.1 }} {{ divf 1 3 }}"),
        "1.331 0.3333333333333333"
    );
    assert!(fails("{{ divf 1 0 }}"));
    assert!(fails(r#"{{ mulf 1 (float64 "nan") }}"#));
    assert!(t.elapsed() < std::time::Duration::from_secs(20));
}

#[test]
fn numbers_integer_edges_wrap_as_go() {
    assert_eq!(
        r("{{ div -9223372036854775808 -1 }} {{ mod -9223372036854775808 -1 }}"),
        "-9223372036854775808 0"
    );
    assert_eq!(r("{{ add1 9223372036854775807 }}"), "-9223372036854775808");
    assert!(fails("{{ mod 5 0 }}"));
    // max - min wraps to 1, as Go's int does.
    assert_eq!(
        r("{{ randInt 9223372036854775807 -9223372036854775808 }}"),
        "9223372036854775807"
    );
    assert!(fails("{{ randInt 0 -9223372036854775808 }}"));
    assert_eq!(
        r("{{ randInt -9223372036854775808 -9223372036854775807 }}"),
        "-9223372036854775808"
    );
    assert_eq!(
        r("{{ round 1.5 9223372036854775807 }} {{ round 1.5 -9223372036854775808 }}"),
        "NaN NaN"
    );
}

// ---- dates ----

#[test]
fn dates_durations_parse_and_print_as_go() {
    use super::sprig_dates::{duration_string, parse_duration};
    assert_eq!(parse_duration("1h30m"), Ok(5_400_000_000_000));
    assert_eq!(parse_duration("-9223372036854775808ns"), Ok(i64::MIN));
    assert!(parse_duration("9223372036854775808ns").is_err());
    assert!(parse_duration("99999999999999999999999h").is_err());
    assert!(parse_duration(&format!("1.{}s", "9".repeat(100_000))).is_ok());
    assert!(
        parse_duration("").is_err()
            && parse_duration("1").is_err()
            && parse_duration(".s").is_err()
    );
    assert_eq!(duration_string(i64::MIN), "-2562047h47m16.854775808s");
    assert_eq!(duration_string(1_500), "1.5\u{b5}s");
    assert_eq!(duration_string(-1), "-1ns");
    assert!(fails(r#"{{ mustDateModify "1x" now }}"#));
    assert_eq!(
        r(r#"{{ $t := now }}{{ eq (dateModify "1x" $t) $t }}"#),
        "true"
    );
}

#[test]
fn dates_named_zones_are_an_error_not_io() {
    // Sprig would read the tz database (and fall back to UTC for an unknown name); the agent
    // never does I/O while rendering, so only UTC, Local and "" are known.
    assert!(fails(r#"{{ dateInZone "2006" 0 "America/New_York" }}"#));
    assert!(fails(r#"{{ htmlDateInZone 0 "Nowhere/Special" }}"#));
    assert_eq!(
        r(r#"{{ dateInZone "2006-01-02" 0 "UTC" }} {{ htmlDateInZone 0 "" }}"#),
        "1970-01-01 1970-01-01"
    );
}

#[test]
fn dates_parse_never_panics_and_refuses_day_long_offsets() {
    use super::sprig_time::go_parse;
    // Go accepts offsets up to 24:60:60; the engine's times cannot hold a day or more.
    assert!(go_parse(b"-07:00", b"+24:00").is_err());
    assert!(go_parse(b"-07:00", b"+23:59").is_ok());
    let layouts: &[&[u8]] = &[
        b"Mon Jan _2 15:04:05.000000 MST 2006",
        b"Monday, 02-Jan-06 03:04:05.999 PM -07:00:00",
        b"2006-002 __2 Z07 Z0700 -070000 .0 ,9",
        b"January 2 pm 1 _2006",
    ];
    let values: &[&[u8]] = &[
        b"Tue Feb  3 04:05:06.123456 GMT+23 2009",
        b"Tuesday, 03-Feb-09 04:05:06.1234567890123 AM +01:02:03",
        b"2024-366 \xff\xfe 366 Z +0100 -010203 .5 ,25",
        b"ChST WITA GMT-9 +99999999999999999999 \xc3\xa9",
    ];
    for l in layouts {
        for v in values {
            for i in 0..=v.len() {
                let _ = go_parse(l, &v[..i]);
                let _ = go_parse(&l[..i.min(l.len())], v);
            }
        }
    }
}

#[test]
fn string_family_bounds() {
    // Counts past the output cap are refused instead of allocated; negative ones give "".
    assert!(fails("{{ randAlpha 100000000 }}"));
    assert!(fails("{{ randAscii 9223372036854775807 }}"));
    assert_eq!(
        r("{{ randNumeric -9223372036854775808 }}|{{ randAlphaNum -1 }}"),
        "|"
    );
    // wrapWith with a long separator stops at the output cap rather than growing without end.
    assert!(fails(
        r#"{{ wrapWith 1 (repeat 1000 "-") (repeat 1000000 "a") | len }}"#
    ));
    // Extreme widths and offsets neither panic nor overflow.
    assert_eq!(
        r(r#"{{ wrap -9223372036854775808 "a b" }}|{{ wrapWith 9223372036854775807 "" "a b" }}"#),
        "a\nb|a b"
    );
    assert_eq!(
        r(
            r#"{{ abbrevboth 9223372036854775807 7 "abcdefghij" }}|{{ abbrev 9223372036854775807 "abc" }}"#
        ),
        "...ghij|abc"
    );
    assert_eq!(
        r(
            r#"{{ len (splitn "" 9223372036854775807 "abc") }}|{{ len (splitn "," -9223372036854775808 "a,b") }}"#
        ),
        "3|2"
    );
}

// ---- semver ----

#[test]
fn semver_strings_are_length_limited() {
    let long = format!("1.0.0-{}", "a".repeat(super::sprig_semver::MAX_LEN));
    assert!(fails(&format!(r#"{{{{ semver "{long}" }}}}"#)));
    assert!(fails(&format!(
        r#"{{{{ semverCompare "{long}" "1.0.0" }}}}"#
    )));
    assert!(fails(&format!(r#"{{{{ semverCompare ">1" "{long}" }}}}"#)));
    let ok = format!("1.0.0-{}", "a".repeat(super::sprig_semver::MAX_LEN - 6));
    assert_eq!(r(&format!(r#"{{{{ (semver "{ok}").Major }}}}"#)), "1");
    let ors = vec![">=1.0.0-a"; 90].join("||");
    assert_eq!(
        r(&format!(r#"{{{{ semverCompare "{ors}" "1.0.0" }}}}"#)),
        "true"
    );
}
