//! Everything a Redis holds, read back value by value, so that a test can say no byte of an
//! erased person is left in it. Values are read as they are (`GET`, `XRANGE`, `HGETALL`), not
//! through `DUMP`, whose encoding may compress them and so hide a match.

/// Every key with its value's bytes.
pub async fn everything(url: &str) -> Vec<(String, Vec<u8>)> {
    let client = redis::Client::open(url).expect("a redis URL");
    let mut con = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect to redis");
    let mut keys: Vec<String> = Vec::new();
    let mut cursor = 0u64;
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut con)
            .await
            .expect("SCAN");
        keys.extend(batch);
        if next == 0 {
            break;
        }
        cursor = next;
    }
    let mut out = Vec::new();
    for key in keys {
        let kind: String = redis::cmd("TYPE")
            .arg(&key)
            .query_async(&mut con)
            .await
            .expect("TYPE");
        let read = match kind.as_str() {
            "string" => redis::cmd("GET").arg(&key).clone(),
            "stream" => redis::cmd("XRANGE").arg(&key).arg("-").arg("+").clone(),
            "hash" => redis::cmd("HGETALL").arg(&key).clone(),
            "list" => redis::cmd("LRANGE").arg(&key).arg(0).arg(-1).clone(),
            "set" => redis::cmd("SMEMBERS").arg(&key).clone(),
            "zset" => redis::cmd("ZRANGE").arg(&key).arg(0).arg(-1).clone(),
            _ => redis::cmd("DUMP").arg(&key).clone(),
        };
        let value: redis::Value = read.query_async(&mut con).await.expect("read a key");
        let mut bytes = Vec::new();
        flatten(&value, &mut bytes);
        out.push((key, bytes));
    }
    out
}

fn flatten(value: &redis::Value, out: &mut Vec<u8>) {
    match value {
        redis::Value::BulkString(bytes) => {
            out.extend_from_slice(bytes);
            out.push(0);
        }
        redis::Value::SimpleString(text) => {
            out.extend_from_slice(text.as_bytes());
            out.push(0);
        }
        redis::Value::Array(items) | redis::Value::Set(items) => {
            for item in items {
                flatten(item, out);
            }
        }
        redis::Value::Map(pairs) => {
            for (k, v) in pairs {
                flatten(k, out);
                flatten(v, out);
            }
        }
        _ => {}
    }
}
