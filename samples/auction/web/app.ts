// The auction sample's page: sign in, connect with hubwire/client and the generated proxy, list
// lots, watch one, bid, and show outbid and won notices.
import { HubConnection, type HubClientError, type Subscription } from "../../../client/index.js";
import type { Bid, BidResult, Lot } from "../auction-types.js";
import { auctionHub } from "./generated/auction-hub.client.js";
import { formatRemaining, WatchedLot } from "./watched-lot.js";

interface Session {
  token: string;
  user: { name: string };
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const storageKey = "hubwire-auction";
const saved = (): Session | undefined => JSON.parse(localStorage.getItem(storageKey) ?? "null") ?? undefined;

function setStatus(status: "connecting" | "connected" | "reconnecting" | "offline"): void {
  $("status").textContent = status;
  $("status").className = `status ${status}`;
}

/** The server refused the token (401/403, a token signed with another secret): ask for a new sign-in. */
function isSignedOut(error: unknown): boolean {
  const { statusCode } = (error ?? {}) as Partial<HubClientError>;
  return statusCode === 401 || statusCode === 403;
}

function signedOut(): void {
  localStorage.removeItem(storageKey);
  setStatus("offline");
  showSignIn();
}

function showSignIn(): void {
  $("sign-in").hidden = false;
  $("app").hidden = true;
  $("sign-out").hidden = true;
  $("whoami").textContent = "";
  $<HTMLFormElement>("sign-in-form").onsubmit = async (event) => {
    event.preventDefault();
    const name = new FormData(event.target as HTMLFormElement).get("name");
    const response = await fetch("/api/login", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ name }) });
    const body = (await response.json()) as Session & { error?: string };
    if (!response.ok) return alert(body.error);
    localStorage.setItem(storageKey, JSON.stringify(body));
    void start(body);
  };
}

async function start(session: Session): Promise<void> {
  const me = session.user.name;
  $("sign-in").hidden = true;
  $("app").hidden = false;
  $("sign-out").hidden = false;
  $("whoami").textContent = me;

  const connection = new HubConnection("/hubs/auction", { accessTokenFactory: () => session.token });
  const hub = auctionHub(connection);
  const lots = new Map<string, Lot>();
  let watched: WatchedLot | undefined;
  let countdown: Subscription | undefined;
  // A bid whose answer the connection lost: sent again, with the same bid id, once back.
  let pending: { lotId: string; amount: number; bidId: string } | undefined;

  hub.on({
    bidPlaced(bid, lot) {
      lots.set(lot.id, lot);
      renderLots();
      if (watched?.lot.id === lot.id && watched.add([bid], lot)) renderLot();
    },
    outbid: (lot, bid) => notice("outbid", `Outbid on ${lot.title}: ${bid.bidder} bid ${bid.amount}.`),
    lotOpened(lot) {
      lots.set(lot.id, lot);
      renderLots();
    },
    lotClosed({ lot, winner }) {
      lots.set(lot.id, lot);
      renderLots();
      if (watched?.lot.id !== lot.id) return;
      watched.close(lot);
      result("closed", winner ? `Sold to ${winner} for ${lot.price}.` : "Closed without bids.");
      renderLot();
    },
    won: (lot) => notice("won", `You won ${lot.title} for ${lot.price}.`),
    confirmBid: (lot, amount) => ask(`Bid ${amount} on ${lot.title}? The price is ${lot.price}.`),
  });

  async function watch(lotId: string): Promise<void> {
    if (watched && watched.lot.id !== lotId) {
      countdown?.dispose();
      void hub.unwatch(watched.lot.id).catch(() => undefined);
      watched = undefined;
    }
    const details = await hub.watch(lotId);
    if (!watched || watched.lot.id !== lotId) watched = new WatchedLot(details.lot);
    watched.add(details.bids, details.lot);
    if (!watched.closed) startCountdown(lotId);
    renderLots();
    renderLot(true);
  }

  function startCountdown(lotId: string): void {
    countdown?.dispose();
    countdown = hub.countdown(lotId).subscribe({
      next(tick) {
        if (watched?.lot.id !== tick.lotId) return;
        watched.tick(tick);
        renderCountdown();
      },
      error: () => undefined, // the connection dropped: started again after reconnecting
    });
  }

  async function bid(lotId: string, amount: number, bidId: string): Promise<void> {
    pending = { lotId, amount, bidId };
    let answer: BidResult;
    try {
      answer = await hub.placeBid(lotId, amount, bidId);
    } catch (error) {
      if ((error as HubClientError).code === "ERR_CONNECTION_LOST") return result("pending", `Connection lost: bid ${amount} is sent again once back.`);
      pending = undefined;
      return result("refused", (error as Error).message);
    }
    pending = undefined;
    if (answer.accepted) {
      result("accepted", `Your bid of ${answer.bid.amount} leads${answer.duplicate ? " (it had arrived before the connection dropped)" : ""}.`);
      if (watched?.lot.id === lotId) watched.add([answer.bid], watched.lot);
    } else result("refused", answer.message);
  }

  // After every (re)connect: the list, then the watched lot again (a new connection is in no
  // group), its countdown, and a bid whose answer was lost.
  const sync = async () => {
    const state = await hub.getState();
    lots.clear();
    for (const lot of state.lots) lots.set(lot.id, lot);
    renderLots();
    if (watched) await watch(watched.lot.id);
    if (pending) await bid(pending.lotId, pending.amount, pending.bidId);
    document.body.dataset.syncs = String(Number(document.body.dataset.syncs ?? 0) + 1); // for tests and curious people
  };

  function renderLots(): void {
    const items = [...lots.values()].sort((a, b) => Number(b.id) - Number(a.id));
    $("lots").replaceChildren(
      ...items.map((lot) => {
        const item = document.createElement("li");
        item.dataset.lotId = lot.id;
        item.className = `${lot.closed ? "closed" : ""} ${watched?.lot.id === lot.id ? "watched" : ""}`;
        const title = document.createElement("span");
        title.textContent = lot.closed ? `${lot.title} (closed)` : lot.title;
        const price = document.createElement("span");
        price.className = "price";
        price.textContent = String(lot.price);
        item.append(title, price);
        item.onclick = () => void watch(lot.id);
        return item;
      }),
    );
    $("no-lots").hidden = items.length > 0;
  }

  function renderLot(fresh = false): void {
    if (!watched) return;
    const { lot } = watched;
    $("lot").hidden = false;
    $("lot-title").textContent = lot.title;
    $("lot-seller").textContent = lot.seller;
    $("price").textContent = String(lot.price);
    $("leader").textContent = lot.leader ?? "-";
    const amount = $<HTMLInputElement>("amount");
    const minimum = lot.seq === 0 ? lot.startingPrice : lot.price + lot.increment;
    if (fresh || document.activeElement !== amount) amount.value = String(minimum);
    $<HTMLFormElement>("bid-form").querySelector("button")!.disabled = watched.closed;
    $("history").replaceChildren(...watched.bids.map(historyItem));
    $("history").dataset.count = String(watched.bids.length);
    if (fresh) result("", "");
    renderCountdown();
  }

  function historyItem(bid: Bid): HTMLLIElement {
    const item = document.createElement("li");
    item.dataset.seq = String(bid.seq);
    if (bid.bidder === me) item.className = "mine";
    for (const [className, text] of [["seq", `#${bid.seq}`], ["who", bid.bidder], ["amount", String(bid.amount)]]) {
      const cell = document.createElement("span");
      cell.className = className!;
      cell.textContent = text!;
      item.append(cell);
    }
    return item;
  }

  function renderCountdown(): void {
    if (!watched) return;
    const clock = $("countdown");
    const remaining = watched.remainingMs();
    clock.dataset.endsAt = String(watched.endsAt);
    clock.dataset.remainingMs = String(remaining);
    clock.textContent = watched.closed ? "closed" : formatRemaining(remaining);
    clock.className = `countdown ${watched.closed ? "closed" : remaining < 10_000 ? "ending" : ""}`;
    $("extended").hidden = !watched.extended || watched.closed;
  }
  // Between the server's ticks, count down on its clock.
  setInterval(renderCountdown, 250);

  connection.onReconnecting(() => setStatus("reconnecting"));
  connection.onReconnected(() => {
    setStatus("connected");
    void sync();
  });
  connection.onClose((error) => (isSignedOut(error) ? signedOut() : setStatus("offline")));

  $("sign-out").onclick = async () => {
    localStorage.removeItem(storageKey);
    await connection.stop();
    location.reload();
  };
  $<HTMLFormElement>("bid-form").onsubmit = (event) => {
    event.preventDefault();
    if (!watched) return;
    void bid(watched.lot.id, Number($<HTMLInputElement>("amount").value), crypto.randomUUID());
  };
  $<HTMLFormElement>("sell-form").onsubmit = async (event) => {
    event.preventDefault();
    const form = new FormData(event.target as HTMLFormElement);
    try {
      const lot = await hub.openLot({
        title: String(form.get("title") ?? ""),
        startingPrice: Number(form.get("startingPrice")),
        increment: Number(form.get("increment")),
        durationSeconds: Number(form.get("durationSeconds")),
      });
      $("sell-result").textContent = `Lot ${lot.id} is open.`;
      $<HTMLFormElement>("sell-form").querySelector<HTMLInputElement>("input[name=title]")!.value = "";
      await watch(lot.id);
    } catch (error) {
      $("sell-result").textContent = (error as Error).message;
    }
  };

  setStatus("connecting");
  try {
    await connection.start();
  } catch (error) {
    return isSignedOut(error) ? signedOut() : setStatus("offline");
  }
  setStatus("connected");
  await sync();
}

function result(kind: string, text: string): void {
  $("bid-result").className = `result ${kind}`;
  $("bid-result").textContent = text;
}

function notice(kind: "outbid" | "won", text: string): void {
  const item = document.createElement("li");
  item.className = kind;
  item.textContent = text;
  $("notices").prepend(item);
}

/** The confirmation a bid far above the price needs: the answer to the server's confirmBid. */
function ask(question: string): Promise<boolean> {
  const dialog = $<HTMLDialogElement>("confirm");
  $("confirm-text").textContent = question;
  dialog.showModal();
  return new Promise((resolve) => {
    const answer = (yes: boolean) => () => {
      dialog.close();
      resolve(yes);
    };
    $("confirm-yes").onclick = answer(true);
    $("confirm-no").onclick = answer(false);
    dialog.oncancel = answer(false);
  });
}

const session = saved();
if (session) void start(session);
else showSignIn();
