//! The plain baseline: the smallest useful lambda_http function (hello world, no SDK, no
//! logging). Built with the workspace's release profile and run by the same emulator as the real
//! functions, so the difference between them is what our code and its dependencies cost.

use lambda_http::{run, service_fn, Body, Error, Request, Response};

#[tokio::main]
async fn main() -> Result<(), Error> {
    run(service_fn(|_req: Request| async {
        Ok::<_, std::convert::Infallible>(
            Response::builder()
                .status(200)
                .header("content-type", "text/plain")
                .body(Body::from("hello"))
                .unwrap_or_default(),
        )
    }))
    .await
}
