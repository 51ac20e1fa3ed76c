/* Arena round: send one prompt over the arena WebSocket, stream the two
   answers side by side, then vote over HTTP; the vote's answer names the
   versions. Final answers show the server's sanitized HTML; streaming text
   is shown as plain text. */
(function () {
  'use strict';

  const root = document.getElementById('arena');
  if (!root) return;
  const trialVersion = root.dataset.trialVersion ? Number(root.dataset.trialVersion) : null;
  const form = document.getElementById('arena-form');
  const prompt = document.getElementById('arena-prompt');
  const sendBtn = document.getElementById('arena-send');
  const stopBtn = document.getElementById('arena-stop');
  const newBtn = document.getElementById('arena-new');
  const errorBox = document.getElementById('arena-error');
  const questionBox = document.getElementById('arena-question');
  const sidesBox = document.getElementById('arena-sides');
  const voteBox = document.getElementById('arena-vote');
  const resultBox = document.getElementById('arena-result');
  const FINAL = new Set(['complete', 'stopped', 'interrupted', 'moderated', 'failed']);
  const JUDGEABLE = new Set(['complete', 'stopped']);

  // Close codes (core/user_sockets.py): too many sockets or frames, so
  // wait this long before trying again (the account changed, 4001, is an
  // ordinary reconnect; the handshake decides again).
  const TOO_MANY = 4429;
  const TOO_MANY_RETRY_MS = 60000;

  let socket = null;
  let ready = false;         // the server said "ready" on this socket
  let pendingStart = null;   // a start frame sent before the socket was ready
  let match = null;          // the match as the server last described it
  const texts = {};          // answer id -> array of code points shown so far
  const sideOf = {};         // answer id -> 'a' | 'b'

  function sideEl(side) { return root.querySelector(`[data-side="${side}"]`); }

  function showError(text) {
    errorBox.textContent = text;
    errorBox.hidden = !text;
  }

  function csrfToken() {
    const input = document.querySelector('input[name=csrfmiddlewaretoken]');
    return input ? input.value : '';
  }

  function connect() {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    socket = new WebSocket(`${scheme}://${location.host}/ws/arena/`);
    socket.addEventListener('message', (event) => onFrame(JSON.parse(event.data)));
    socket.addEventListener('close', (event) => {
      ready = false;
      if (event.code === 4401 || event.code === 4403) {
        showError('You are not allowed into the arena; sign in again or ask an admin.');
        return;
      }
      if (event.code === TOO_MANY) {
        showError(`${event.reason || 'Too many connections.'} Reconnecting in a minute.`);
        setTimeout(connect, TOO_MANY_RETRY_MS);
        return;
      }
      setTimeout(connect, 1000);
    });
    socket.addEventListener('open', () => {
      if (match) socket.send(JSON.stringify({ type: 'watch', match: match.id }));
    });
  }

  function onFrame(frame) {
    if (frame.type === 'ready') {
      ready = true;
      if (pendingStart) { socket.send(JSON.stringify(pendingStart)); pendingStart = null; }
    } else if (frame.type === 'started' || frame.type === 'watching') {
      setMatch(frame.match);
    } else if (frame.type === 'message') {
      updateAnswer(frame.message);
    } else if (frame.type === 'delta') {
      appendDelta(frame.message_id, frame.offset, frame.text);
    } else if (frame.type === 'retract') {
      if (frame.message_id in texts) { texts[frame.message_id] = []; render(frame.message_id, null); }
    } else if (frame.type === 'error') {
      showError(frame.message);
      if (!match) { sendBtn.disabled = false; prompt.disabled = false; }
    }
  }

  function setMatch(data) {
    match = data;
    questionBox.textContent = data.question.content;
    questionBox.hidden = false;
    sidesBox.hidden = false;
    voteBox.hidden = false;
    form.classList.add('arena-running');
    prompt.disabled = true;
    sendBtn.hidden = true;
    for (const side of ['a', 'b']) {
      const answer = data.answers[side];
      sideOf[answer.id] = side;
      texts[answer.id] = Array.from(answer.content || '');
      updateAnswer(answer);
    }
    showVersions();
  }

  function appendDelta(id, offset, text) {
    const shown = texts[id];
    if (!shown) return;
    const incoming = Array.from(text);
    if (offset > shown.length) return; // a gap: the final message brings the whole text
    texts[id] = shown.slice(0, offset).concat(incoming);
    render(id, null);
  }

  function updateAnswer(message) {
    if (!(message.id in sideOf)) return;
    const el = sideEl(sideOf[message.id]);
    el.dataset.status = message.status;
    if (FINAL.has(message.status)) {
      texts[message.id] = Array.from(message.content || '');
      render(message.id, message.html);
    } else if (message.content && message.content.length > texts[message.id].length) {
      texts[message.id] = Array.from(message.content);
      render(message.id, null);
    }
    const note = el.querySelector('[data-role=note]');
    note.textContent = message.error || (message.status === 'moderated' ? 'Moderation replaced this answer.' : '');
    note.hidden = !note.textContent;
    refreshControls();
  }

  function render(id, html) {
    const content = sideEl(sideOf[id]).querySelector('[data-role=content]');
    if (html) content.innerHTML = html; // sanitized by the server (core.markdown)
    else content.textContent = texts[id].join('');
  }

  function statuses() {
    if (!match) return [];
    return ['a', 'b'].map((side) => sideEl(side).dataset.status);
  }

  function refreshControls() {
    const states = statuses();
    const finished = states.length === 2 && states.every((s) => FINAL.has(s));
    const judgeable = states.length === 2 && states.every((s) => JUDGEABLE.has(s));
    stopBtn.hidden = !match || finished;
    const decided = match && match.outcome;
    for (const btn of voteBox.querySelectorAll('button')) btn.disabled = !judgeable || Boolean(decided);
    newBtn.hidden = !(finished || decided);
    if (finished && !judgeable && !decided) {
      resultBox.textContent = 'An answer was moderated, failed or was interrupted, so this round cannot be judged. Start a new round.';
      resultBox.hidden = false;
    }
  }

  function showVersions() {
    for (const side of ['a', 'b']) {
      const badge = sideEl(side).querySelector('[data-role=version]');
      const name = match && match.versions ? match.versions[side] : null;
      badge.textContent = name || '';
      badge.hidden = !name;
    }
  }

  async function vote(outcome) {
    for (const btn of voteBox.querySelectorAll('button')) btn.disabled = true;
    const response = await fetch(`/arena/api/matches/${match.id}/vote/`, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRFToken': csrfToken() },
      body: JSON.stringify({ outcome }),
    });
    const data = await response.json();
    if (!response.ok) {
      showError(data.error || 'The vote was not taken.');
      refreshControls();
      return;
    }
    match = data;
    for (const btn of voteBox.querySelectorAll('button')) {
      btn.classList.toggle('primary', btn.dataset.outcome === data.outcome);
    }
    showVersions();
    const label = voteBox.querySelector(`[data-outcome="${data.outcome}"]`).textContent;
    resultBox.textContent = `Thanks. You voted "${label}": A was ${data.versions.a}, B was ${data.versions.b}.`;
    resultBox.hidden = false;
    refreshControls();
  }

  function reset() {
    match = null;
    for (const key of Object.keys(texts)) delete texts[key];
    for (const key of Object.keys(sideOf)) delete sideOf[key];
    for (const side of ['a', 'b']) {
      const el = sideEl(side);
      el.dataset.status = '';
      el.querySelector('[data-role=content]').textContent = '';
      el.querySelector('[data-role=note]').hidden = true;
    }
    for (const btn of voteBox.querySelectorAll('button')) { btn.disabled = true; btn.classList.remove('primary'); }
    showVersions();
    questionBox.hidden = sidesBox.hidden = voteBox.hidden = resultBox.hidden = true;
    stopBtn.hidden = newBtn.hidden = true;
    sendBtn.hidden = false;
    sendBtn.disabled = prompt.disabled = false;
    prompt.value = '';
    prompt.focus();
    showError('');
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const content = prompt.value.trim();
    if (!content || sendBtn.disabled) return;
    showError('');
    sendBtn.disabled = true;
    const frame = { type: 'start', request_id: String(Date.now()), content, trial_version: trialVersion };
    if (ready) socket.send(JSON.stringify(frame));
    else pendingStart = frame;
  });
  prompt.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey) { event.preventDefault(); form.requestSubmit(); }
  });
  stopBtn.addEventListener('click', () => socket.send(JSON.stringify({ type: 'stop', match: match.id })));
  newBtn.addEventListener('click', reset);
  voteBox.addEventListener('click', (event) => {
    const btn = event.target.closest('button[data-outcome]');
    if (btn && !btn.disabled) vote(btn.dataset.outcome);
  });

  connect();
})();
