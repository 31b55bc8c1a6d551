// customers.js — progressive enhancement driven by data attributes; every page works without it.
//   select[data-parent-select=ID]   shows only the options (and optgroups) whose data-parent is
//                                   the value chosen in select#ID (province → city); choosing a
//                                   child while the parent is empty fills the parent in. With
//                                   data-options-url=URL the child holds only the chosen parent's
//                                   options and asks URL+value ([[value, label], …]) for another's.
//   input[data-check-all=FORM]      checks or clears every checkbox of form#FORM (batch bars).
//   [data-toggle=ID]                clicking shows or hides #ID instead of following the link
//                                   (inline edit rows; the link is the no-script fallback).
//   form[data-check-url]            while typing, asks the URL (GET, ?name=&phone=&tax_id=&mobile=
//                                   &id=) about duplicates and shows the answer in
//                                   [data-check-output], whose data-msg-* hold the wording.
//   form[data-progress-url]         on submit, shows [data-progress-box] and asks the URL every
//                                   half second for {done, total} until the answer page arrives
//                                   (the page stays live while the form's request runs).
'use strict';
document.addEventListener('DOMContentLoaded', () => {
  // --- dependent selects ---------------------------------------------------------------------
  document.querySelectorAll('select[data-parent-select]').forEach((child) => {
    const parent = document.getElementById(child.dataset.parentSelect);
    if (!parent) return;
    if (child.dataset.optionsUrl) {
      const first = child.options[0];
      parent.addEventListener('change', async () => {
        child.replaceChildren(first);
        child.value = '';
        if (parent.value === '') return;
        const asked = parent.value;
        const res = await fetch(child.dataset.optionsUrl + encodeURIComponent(asked),
          { credentials: 'same-origin', headers: { Accept: 'application/json' } });
        if (!res.ok || parent.value !== asked) return;
        for (const [value, label] of await res.json()) child.append(new Option(label, value));
      });
      return;
    }
    const filter = () => {
      const want = parent.value;
      child.querySelectorAll('optgroup').forEach((g) => {
        g.hidden = want !== '' && g.dataset.parent !== want;
        g.disabled = g.hidden;
      });
      const chosen = child.selectedOptions[0];
      if (chosen && chosen.dataset.parent && want !== '' && chosen.dataset.parent !== want) {
        child.value = '';
      }
    };
    parent.addEventListener('change', filter);
    child.addEventListener('change', () => {
      const chosen = child.selectedOptions[0];
      if (chosen && chosen.dataset.parent && parent.value === '') {
        parent.value = chosen.dataset.parent;
        filter();
      }
    });
    filter();
  });

  // --- check all -----------------------------------------------------------------------------
  document.querySelectorAll('input[data-check-all]').forEach((all) => {
    const boxes = () => document.querySelectorAll(
      `input[type=checkbox][form="${CSS.escape(all.dataset.checkAll)}"]`);
    all.addEventListener('change', () => boxes().forEach((b) => { b.checked = all.checked; }));
  });

  // --- toggles -------------------------------------------------------------------------------
  document.querySelectorAll('[data-toggle]').forEach((el) => {
    el.addEventListener('click', (e) => {
      const target = document.getElementById(el.dataset.toggle);
      if (!target) return;
      e.preventDefault();
      target.hidden = !target.hidden;
      if (!target.hidden) {
        const first = target.querySelector('input:not([type=hidden]), select, textarea');
        if (first) first.focus();
      }
    });
  });

  // --- duplicate check while typing ------------------------------------------------------------
  document.querySelectorAll('form[data-check-url]').forEach((form) => {
    const out = form.querySelector('[data-check-output]');
    if (!out) return;
    const msg = out.dataset;
    const fields = (form.dataset.checkFields || 'name').split(/\s+/);
    const param = { contact_mobile: 'mobile' };
    let timer = null;
    let seq = 0;
    const render = (answer) => {
      out.replaceChildren();
      const dup = answer.duplicate;
      if (dup) {
        const p = document.createElement('div');
        p.className = 'alert alert-error';
        p.append(dup.pool ? msg.msgPool : msg.msgOwned.replace('%s', dup.owner || '—'));
        if (dup.href) {
          const a = document.createElement('a');
          a.href = dup.href;
          a.textContent = `${dup.name} ${dup.code || ''}`.trim();
          p.append(' ', a);
        }
        out.append(p);
      }
      if (answer.similar && answer.similar.length) {
        const box = document.createElement('div');
        box.className = 'alert alert-warn';
        const title = document.createElement('strong');
        title.textContent = msg.msgSimilar;
        const ul = document.createElement('ul');
        for (const s of answer.similar) {
          const li = document.createElement('li');
          if (s.href) {
            const a = document.createElement('a');
            a.href = s.href;
            a.textContent = s.name;
            li.append(a, ` ${s.code || ''}`);
          } else {
            li.append(msg.msgHidden);
          }
          const why = (s.reasons || []).map((r) => msg[`msg${r[0].toUpperCase()}${r.slice(1)}`] || r);
          li.append(` — ${s.pool ? msg.msgInPool : `${msg.msgOwner}: ${s.owner}`} (${why.join(', ')})`);
          ul.append(li);
        }
        box.append(title, ul);
        out.append(box);
      }
    };
    const check = async () => {
      const q = new URLSearchParams();
      for (const f of fields) {
        const input = form.elements.namedItem(f);
        if (input && input.value.trim()) q.set(param[f] || f, input.value.trim());
      }
      if (form.dataset.checkId) q.set('id', form.dataset.checkId);
      if (![...q.keys()].some((k) => k !== 'id')) { out.replaceChildren(); return; }
      const mine = ++seq;
      try {
        const res = await fetch(`${form.dataset.checkUrl}?${q}`, {
          credentials: 'same-origin', headers: { accept: 'application/json' },
        });
        if (res.ok && mine === seq) render(await res.json());
      } catch (e) { /* the check is a courtesy: saving checks again */ }
    };
    for (const f of fields) {
      const input = form.elements.namedItem(f);
      if (!input) continue;
      input.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(check, 400); });
    }
  });

  // --- progress of a long form post (the import's commit) ------------------------------------
  document.querySelectorAll('form[data-progress-url]').forEach((form) => {
    const box = form.querySelector('[data-progress-box]');
    if (!box) return;
    const bar = box.querySelector('progress');
    const text = box.querySelector('[data-progress-text]');
    form.addEventListener('submit', () => {
      box.hidden = false;
      form.querySelectorAll('button[type=submit]').forEach((b) => { b.disabled = true; });
      const poll = async () => {
        try {
          const res = await fetch(form.dataset.progressUrl, {
            credentials: 'same-origin', headers: { accept: 'application/json' },
          });
          if (res.ok) {
            const p = await res.json();
            if (p.total > 0) {
              bar.max = p.total;
              bar.value = p.done;
              text.textContent = box.dataset.msgRows.replace('%1', p.done.toLocaleString()).replace('%2', p.total.toLocaleString());
            }
          }
        } catch (e) { /* the bar is a courtesy: the answer page says what happened */ }
        setTimeout(poll, 500);
      };
      setTimeout(poll, 300);
    });
  });
});
