//! A TCP relay on 127.0.0.1 that can cut its connections: where a fabric
//! has no way to tell the target to drop one I_T nexus, the nexus goes
//! through its own relay, and a cut is the network between host and
//! target failing for that nexus alone.
//!
//! [`Relay::cut`] shuts down both sockets of every connection it carries:
//! the initiator reads end-of-stream (libiscsi fails the commands
//! outstanding on it), and the target's side is closed too (through qemu's
//! user network the guest gets a FIN), so each end sees the connection
//! end without a logout. Until [`Relay::restore`] the relay accepts and
//! at once closes new connections: a login there fails. TCP_NODELAY on
//! both sides keeps small PDUs from waiting on delayed ACKs.

use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// How long connecting to the upstream may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Default)]
struct State {
    down: bool,
    closing: bool,
    /// Both sockets of each relayed connection (clones, to shut them
    /// down from outside the pump threads).
    conns: Vec<(TcpStream, TcpStream)>,
}

/// One listening port relaying to one upstream address.
#[derive(Debug)]
pub struct Relay {
    port: u16,
    state: Arc<Mutex<State>>,
    acceptor: Option<JoinHandle<()>>,
}

fn lock(s: &Mutex<State>) -> MutexGuard<'_, State> {
    // A pump thread that panicked leaves the state as consistent as any
    // other moment: take it.
    s.lock().unwrap_or_else(|e| e.into_inner())
}

fn shut(pair: &(TcpStream, TcpStream)) {
    // Either socket may already be closed by its peer; nothing to report.
    let _ = pair.0.shutdown(Shutdown::Both);
    let _ = pair.1.shutdown(Shutdown::Both);
}

impl Relay {
    /// Listen on a free port of 127.0.0.1 and relay each connection to
    /// `upstream`.
    pub fn start(upstream: SocketAddr) -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let state = Arc::new(Mutex::new(State::default()));
        let shared = Arc::clone(&state);
        let acceptor = thread::Builder::new()
            .name(format!("relay-{port}"))
            .spawn(move || accept_loop(&listener, upstream, &shared))?;
        Ok(Relay {
            port,
            state,
            acceptor: Some(acceptor),
        })
    }

    /// The relay's address, `127.0.0.1:<port>`.
    pub fn portal(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Cut every connection and refuse new ones until
    /// [`Relay::restore`]; how many connections it shut down (those
    /// relayed since the last cut, including any that had already ended).
    pub fn cut(&self) -> usize {
        let mut s = lock(&self.state);
        s.down = true;
        let conns = std::mem::take(&mut s.conns);
        conns.iter().for_each(shut);
        conns.len()
    }

    /// Accept connections again.
    pub fn restore(&self) {
        lock(&self.state).down = false;
    }

    /// Whether the relay is cut.
    pub fn is_down(&self) -> bool {
        lock(&self.state).down
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        {
            let mut s = lock(&self.state);
            s.closing = true;
            std::mem::take(&mut s.conns).iter().for_each(shut);
        }
        // Wake the acceptor from accept(2) so it sees `closing`; if the
        // connect fails the listener is gone already.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.acceptor.take() {
            // A panicked acceptor has nothing left to clean up.
            let _ = t.join();
        }
    }
}

fn accept_loop(listener: &TcpListener, upstream: SocketAddr, state: &Arc<Mutex<State>>) {
    for incoming in listener.incoming() {
        let Ok(client) = incoming else { continue };
        let (down, closing) = {
            let s = lock(state);
            (s.down, s.closing)
        };
        if closing {
            return;
        }
        let server = if down {
            None
        } else {
            TcpStream::connect_timeout(&upstream, CONNECT_TIMEOUT).ok()
        };
        let Some(server) = server else {
            // Refused (cut, or no upstream): closed at once, the login
            // sees end-of-stream.
            let _ = client.shutdown(Shutdown::Both);
            continue;
        };
        // Latency only; a socket without it still relays.
        let _ = client.set_nodelay(true);
        let _ = server.set_nodelay(true);
        let clones = (
            client.try_clone(),
            server.try_clone(),
            client.try_clone(),
            server.try_clone(),
        );
        let (Ok(c2), Ok(s2), Ok(c3), Ok(s3)) = clones else {
            continue;
        };
        {
            // Checked again under the lock that `cut` takes: a cut that
            // came while connecting upstream catches this one too.
            let mut s = lock(state);
            if s.down || s.closing {
                shut(&(client, server));
                continue;
            }
            s.conns.push((c3, s3));
        }
        pump(client, s2);
        pump(server, c2);
    }
}

/// Copy `from` to `to` on a thread of its own; when `from` ends, shut
/// both down so the other direction ends too.
fn pump(mut from: TcpStream, mut to: TcpStream) {
    let spawned = thread::Builder::new()
        .name(String::from("relay-pump"))
        .spawn(move || {
            // Ends with the connection (either side closed or cut); the
            // result says only which.
            let _ = io::copy(&mut from, &mut to);
            let _ = from.shutdown(Shutdown::Both);
            let _ = to.shutdown(Shutdown::Both);
        });
    // Without a thread the connection cannot be relayed: it stalls until
    // cut or dropped, which a command timeout reports.
    drop(spawned);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn relays_cuts_refuses_and_restores() {
        let upstream = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = upstream.local_addr().unwrap();
        let echo = thread::spawn(move || {
            for s in upstream.incoming().take(2) {
                let mut s = s.unwrap();
                let mut buf = [0u8; 64];
                while let Ok(n) = s.read(&mut buf) {
                    if n == 0 || s.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        });
        let relay = Relay::start(addr).unwrap();
        let mut c = TcpStream::connect(relay.portal()).unwrap();
        c.write_all(b"ping").unwrap();
        let mut got = [0u8; 4];
        c.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"ping");
        assert_eq!(relay.cut(), 1);
        let mut rest = Vec::new();
        assert_eq!(
            c.read_to_end(&mut rest).unwrap_or(0),
            0,
            "cut connection still open"
        );
        let mut refused = TcpStream::connect(relay.portal()).unwrap();
        assert_eq!(
            refused.read(&mut got).unwrap_or(0),
            0,
            "login while down got through"
        );
        relay.restore();
        let mut again = TcpStream::connect(relay.portal()).unwrap();
        again.write_all(b"pong").unwrap();
        again.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"pong");
        drop(again);
        drop(relay);
        echo.join().unwrap();
    }
}
