/* The lease countdown of a labeling task: the server decides, this only
   shows how long is left and says when the lease has run out. */
function countDown(lease) {
  const left = lease.querySelector('.lab-lease-left');
  const endsAt = Date.now() + Number(lease.dataset.secondsLeft) * 1000;

  function show() {
    const seconds = Math.max(0, Math.round((endsAt - Date.now()) / 1000));
    const minutes = Math.floor(seconds / 60);
    left.textContent = `${minutes}:${String(seconds % 60).padStart(2, '0')}`;
    if (seconds === 0) {
      lease.classList.add('expired');
      left.textContent = 'no time';
      return false;
    }
    lease.classList.toggle('ending', seconds < 120);
    return true;
  }
  if (show()) {
    const timer = setInterval(() => { if (!show()) clearInterval(timer); }, 1000);
  }
}

const lease = document.getElementById('lab-lease');
if (lease) countDown(lease);
