/* The chat page: sidebar, message tree, streaming over the chat WebSocket.
   Wires the modules of static/js/chat/ together and starts the page. */
import { INITIAL, els, state } from './page.js';
import { initScrolling, renderThread, scrollToBottom } from './render.js';
import { autosize, composerMax, initComposer } from './composer.js';
import { connect } from './connection.js';
import { initHistory, loadDetail, updateHeader } from './conversations.js';
import { initSidebar, loadList } from './sidebar.js';
import { initSettings } from './settings.js';
import { initModelPicker } from './model_picker.js';

initScrolling();
initComposer();
initHistory();
initSidebar();
initSettings();
initModelPicker();

if (INITIAL && INITIAL.conversation) {
  state.convId = INITIAL.conversation.id;
  history.replaceState({ conv: state.convId }, '', location.href);
  loadDetail(INITIAL, true);
} else {
  updateHeader();
  renderThread();
}
loadList('');
connect();
autosize(els.composer, composerMax());
els.composer.focus();
requestAnimationFrame(() => scrollToBottom(false));
