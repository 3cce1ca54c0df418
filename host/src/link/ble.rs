//! BLE link: the framed byte stream over a GATT service with one write and one notify
//! characteristic, cut into MTU-sized chunks.
//!
//! The host is the GATT central. It writes the stream to [`WRITE_CHAR`] (write with response,
//! so chunks are ordered and acknowledged) and receives the node's stream as notifications of
//! [`NOTIFY_CHAR`]. Chunk boundaries mean nothing: the COBS delimiter marks frame ends, so
//! reassembly is "concatenate and decode", exactly as on a serial line.
//!
//! The GATT operations live behind the tiny [`GattTransport`] trait. The real one,
//! `BtleplugGatt` (feature `ble`), needs a BLE adapter and BlueZ over D-Bus; there is neither
//! on CI machines, so BLE is build-tested there and the chunking and reassembly are tested
//! through [`test_double::GattTestDouble`], an in-memory **test double** of the transport.

use std::future::Future;

use super::{FramePump, Link, LinkError, LinkStats};

/// The Toile GATT service.
pub const SERVICE_UUID: u128 = 0x7a6f_1e00_5d2b_4c6e_9a1f_3b7c_0e11_e000;
/// Host → node: write with response.
pub const WRITE_CHAR: u128 = 0x7a6f_1e01_5d2b_4c6e_9a1f_3b7c_0e11_e000;
/// Node → host: notify.
pub const NOTIFY_CHAR: u128 = 0x7a6f_1e02_5d2b_4c6e_9a1f_3b7c_0e11_e000;
/// ATT header bytes taken from the MTU in every write or notification.
pub const ATT_HEADER: usize = 3;
/// The BLE minimum ATT MTU (23): what every central and peripheral supports.
pub const MIN_MTU: usize = 23;

/// The GATT operations a [`BleLink`] needs.
///
/// Implementations MUST guarantee: `write` delivers chunks in order and returns when the
/// peer acknowledged the write; `notified` yields notification values in the order sent and
/// `Ok(None)` once disconnected; `max_chunk` ≥ 1 and never changes during a connection.
pub trait GattTransport: Send {
    /// Largest value of one write or notification (negotiated ATT MTU − 3).
    fn max_chunk(&self) -> usize;
    /// Write one chunk (≤ [`GattTransport::max_chunk`]) to the write characteristic.
    fn write(&mut self, chunk: &[u8]) -> impl Future<Output = Result<(), LinkError>> + Send;
    /// The next notification value; `None` when the peer disconnected.
    fn notified(&mut self) -> impl Future<Output = Result<Option<Vec<u8>>, LinkError>> + Send;
}

/// A [`Link`] over a [`GattTransport`].
#[derive(Debug)]
pub struct BleLink<G> {
    gatt: G,
    pump: FramePump,
    opened: bool,
}

impl<G: GattTransport> BleLink<G> {
    pub fn new(gatt: G) -> Self {
        Self {
            gatt,
            pump: FramePump::new(),
            opened: false,
        }
    }

    pub fn gatt(&self) -> &G {
        &self.gatt
    }
}

impl<G: GattTransport> Link for BleLink<G> {
    async fn send(&mut self, payload: &[u8]) -> Result<(), LinkError> {
        let wire = self.pump.encode(payload, !self.opened)?;
        self.opened = true;
        for chunk in wire.chunks(self.gatt.max_chunk().max(1)) {
            self.gatt.write(chunk).await?;
        }
        Ok(())
    }

    async fn recv(&mut self) -> Result<Vec<u8>, LinkError> {
        loop {
            if let Some(p) = self.pump.next_frame() {
                return Ok(p);
            }
            match self.gatt.notified().await? {
                Some(chunk) => self.pump.feed(&chunk),
                None => return Err(LinkError::Closed),
            }
        }
    }

    fn stats(&self) -> LinkStats {
        self.pump.stats()
    }
}

/// In-memory **test double** of [`GattTransport`] (there is no BLE adapter here): two ends
/// joined by channels. Writes larger than the MTU are refused, as a real stack would.
pub mod test_double {
    use tokio::sync::mpsc;

    use super::{ATT_HEADER, GattTransport, LinkError};

    /// One end of an in-memory GATT connection.
    #[derive(Debug)]
    pub struct GattTestDouble {
        mtu: usize,
        tx: mpsc::UnboundedSender<Vec<u8>>,
        rx: mpsc::UnboundedReceiver<Vec<u8>>,
        /// Size of every chunk written, for tests.
        pub written: Vec<usize>,
    }

    impl GattTestDouble {
        /// Two connected ends with ATT MTU `mtu`.
        pub fn pair(mtu: usize) -> (Self, Self) {
            let (a_tx, a_rx) = mpsc::unbounded_channel();
            let (b_tx, b_rx) = mpsc::unbounded_channel();
            let end = |tx, rx| Self {
                mtu,
                tx,
                rx,
                written: Vec::new(),
            };
            (end(a_tx, b_rx), end(b_tx, a_rx))
        }
    }

    impl GattTransport for GattTestDouble {
        fn max_chunk(&self) -> usize {
            self.mtu.saturating_sub(ATT_HEADER).max(1)
        }

        async fn write(&mut self, chunk: &[u8]) -> Result<(), LinkError> {
            if chunk.len() > self.max_chunk() {
                return Err(LinkError::Ble(format!(
                    "write of {} bytes exceeds the ATT MTU {}",
                    chunk.len(),
                    self.mtu
                )));
            }
            self.written.push(chunk.len());
            self.tx.send(chunk.to_vec()).map_err(|_| LinkError::Closed)
        }

        async fn notified(&mut self) -> Result<Option<Vec<u8>>, LinkError> {
            Ok(self.rx.recv().await)
        }
    }
}

#[cfg(feature = "ble")]
pub use btle::{BtleplugGatt, connect};

#[cfg(feature = "ble")]
mod btle {
    use std::pin::Pin;
    use std::time::Duration;

    use btleplug::api::{
        Central, CharPropFlags, Characteristic, Manager as _, Peripheral as _, ScanFilter,
        ValueNotification, WriteType,
    };
    use btleplug::platform::{Manager, Peripheral};
    use futures_util::{Stream, StreamExt};
    use uuid::Uuid;

    use super::{
        ATT_HEADER, BleLink, GattTransport, MIN_MTU, NOTIFY_CHAR, SERVICE_UUID, WRITE_CHAR,
    };
    use crate::link::LinkError;

    fn ble(e: impl std::fmt::Display) -> LinkError {
        LinkError::Ble(format!(
            "{e} (is Bluetooth on, BlueZ running and the node advertising?)"
        ))
    }

    /// The real GATT transport (btleplug central).
    pub struct BtleplugGatt {
        peripheral: Peripheral,
        write: Characteristic,
        notify: Characteristic,
        notifications: Pin<Box<dyn Stream<Item = ValueNotification> + Send>>,
    }

    impl std::fmt::Debug for BtleplugGatt {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("BtleplugGatt").finish_non_exhaustive()
        }
    }

    impl GattTransport for BtleplugGatt {
        fn max_chunk(&self) -> usize {
            usize::from(self.peripheral.mtu())
                .max(MIN_MTU)
                .saturating_sub(ATT_HEADER)
        }

        async fn write(&mut self, chunk: &[u8]) -> Result<(), LinkError> {
            self.peripheral
                .write(&self.write, chunk, WriteType::WithResponse)
                .await
                .map_err(ble)
        }

        async fn notified(&mut self) -> Result<Option<Vec<u8>>, LinkError> {
            loop {
                match self.notifications.next().await {
                    Some(n) if n.uuid == self.notify.uuid => return Ok(Some(n.value)),
                    Some(_) => {}
                    None => return Ok(None),
                }
            }
        }
    }

    /// Scan for a node advertising the Toile service under `name`, connect and subscribe.
    pub async fn connect(name: &str, scan: Duration) -> Result<BleLink<BtleplugGatt>, LinkError> {
        let manager = Manager::new().await.map_err(ble)?;
        let adapter = manager
            .adapters()
            .await
            .map_err(ble)?
            .into_iter()
            .next()
            .ok_or_else(|| ble("no Bluetooth adapter found"))?;
        let service = Uuid::from_u128(SERVICE_UUID);
        adapter
            .start_scan(ScanFilter {
                services: vec![service],
            })
            .await
            .map_err(ble)?;
        let deadline = tokio::time::Instant::now() + scan;
        let peripheral = loop {
            let mut found = None;
            for p in adapter.peripherals().await.map_err(ble)? {
                let props = p.properties().await.map_err(ble)?;
                if props.and_then(|p| p.local_name).as_deref() == Some(name) {
                    found = Some(p);
                    break;
                }
            }
            if let Some(p) = found {
                break p;
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ble(format!("no node named {name:?} found within {scan:?}")));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        };
        let _ = adapter.stop_scan().await;
        peripheral.connect().await.map_err(ble)?;
        peripheral.discover_services().await.map_err(ble)?;
        let chars = peripheral.characteristics();
        let find = |uuid: u128, flag: CharPropFlags| {
            chars
                .iter()
                .find(|c| c.uuid == Uuid::from_u128(uuid) && c.properties.contains(flag))
                .cloned()
                .ok_or_else(|| ble("the node lacks the Toile GATT characteristics"))
        };
        let write = find(WRITE_CHAR, CharPropFlags::WRITE)?;
        let notify = find(NOTIFY_CHAR, CharPropFlags::NOTIFY)?;
        peripheral.subscribe(&notify).await.map_err(ble)?;
        let notifications = peripheral.notifications().await.map_err(ble)?;
        Ok(BleLink::new(BtleplugGatt {
            peripheral,
            write,
            notify,
            notifications,
        }))
    }
}
