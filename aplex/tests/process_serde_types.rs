//! Every type that round-trips through `serde_json` round-trips through a process pool,
//! as an argument and as an output: the codec is self-describing, so internally tagged,
//! adjacently tagged and untagged enums, `#[serde(flatten)]`, `skip_serializing_if` with
//! `default`, `serde_json::Value` and maps with non-string keys all arrive as they left.

use std::collections::BTreeMap;

use aplex::ProcessAsyncPoolExecutor;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind")]
enum Shape {
    Circle { radius: f64 },
    Square { side: f64 },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", content = "c")]
enum Adjacent {
    Number(u32),
    Nothing,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
enum Loose {
    Count(u64),
    Name(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Paging {
    page: u32,
    per_page: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Request {
    id: u64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    note: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    tags: Vec<String>,
    #[serde(flatten)]
    paging: Paging,
    shapes: Vec<Shape>,
    adjacent: Vec<Adjacent>,
    loose: Vec<Loose>,
    extra: serde_json::Value,
    by_number: BTreeMap<u16, String>,
}

/// Hands its argument back, so both directions cross the codec.
#[aplex::work]
fn echo_request(request: Request) -> Request {
    request
}

#[aplex::work]
async fn echo_value(value: serde_json::Value) -> serde_json::Value {
    value
}

fn requests() -> Vec<Request> {
    let full = Request {
        id: 1,
        note: Some("first".into()),
        tags: vec!["a".into(), "b".into()],
        paging: Paging {
            page: 2,
            per_page: 50,
        },
        shapes: vec![Shape::Circle { radius: 1.5 }, Shape::Square { side: 2.0 }],
        adjacent: vec![Adjacent::Number(7), Adjacent::Nothing],
        loose: vec![Loose::Count(3), Loose::Name("three".into())],
        extra: serde_json::json!({"nested": [1, -2.5, "x", null, true, {"deep": {}}]}),
        by_number: BTreeMap::from([(1, "one".into()), (65535, "max".into())]),
    };
    let sparse = Request {
        id: 2,
        note: None,
        tags: Vec::new(),
        extra: serde_json::Value::Null,
        by_number: BTreeMap::new(),
        ..full.clone()
    };
    vec![full, sparse]
}

#[test]
fn what_round_trips_through_serde_json_round_trips_through_the_pool() {
    let pool = ProcessAsyncPoolExecutor::builder()
        .pool_size(1)
        .build()
        .unwrap();
    for request in requests() {
        let through_json: Request =
            serde_json::from_str(&serde_json::to_string(&request).unwrap()).unwrap();
        assert_eq!(
            through_json, request,
            "the premise: serde_json round-trips it"
        );
        let submitted = pool
            .submit(aplex::blocking(echo_request), request.clone())
            .result();
        assert_eq!(submitted, Ok(request.clone()));
    }
    let mapped: Vec<Request> = pool
        .map(aplex::blocking(echo_request), requests())
        .chunksize(2)
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(mapped, requests(), "a chunk of them, too");
    let values = [
        serde_json::json!(null),
        serde_json::json!(u64::MAX),
        serde_json::json!(-1),
        serde_json::json!(0.1),
        serde_json::json!("text"),
        serde_json::json!([[], {}, [1, {"a": "b"}]]),
    ];
    for value in values {
        assert_eq!(pool.submit(echo_value, value.clone()).result(), Ok(value));
    }
}
