// The report page's only script: filters by status, model and tag, and sorting by cost and
// duration. Reads each card's data attributes once; a change only toggles `hidden` (filters) or
// moves existing nodes (sorting), so a thousand cards stay quick.
(() => {
  const main = document.getElementById('cards');
  const form = document.getElementById('controls');
  const shown = document.getElementById('shown');
  const none = document.getElementById('none');

  const units = Array.from(main.children, (element, index) => {
    const cards = element.classList.contains('card')
      ? [element]
      : Array.from(element.querySelectorAll('.card'));
    const info = cards.map((card) => ({
      card,
      status: card.dataset.status,
      model: card.dataset.model,
      tags: JSON.parse(card.dataset.tags || '[]'),
    }));
    const sum = (key) => cards.reduce((total, card) => total + Number(card.dataset[key] || 0), 0);
    return { element, index, info, cost: sum('cost'), duration: sum('duration') };
  });
  const total = units.reduce((count, unit) => count + unit.info.length, 0);

  function filter() {
    const status = form.elements.status.value;
    const model = form.elements.model.value;
    const tag = form.elements.tag.value;
    let visible = 0;
    for (const unit of units) {
      let any = false;
      for (const job of unit.info) {
        const show =
          (!status || job.status === status) &&
          (!model || job.model === model) &&
          (!tag || job.tags.includes(tag));
        job.card.hidden = !show;
        if (show) {
          any = true;
          visible++;
        }
      }
      unit.element.hidden = !any;
    }
    shown.textContent = `${visible} of ${total} jobs shown`;
    none.hidden = visible > 0;
  }

  function sort() {
    const [key, direction] = form.elements.sort.value.split('-');
    const sign = direction === 'asc' ? 1 : -1;
    const ordered = key
      ? [...units].sort((a, b) => sign * (a[key] - b[key]) || a.index - b.index)
      : [...units].sort((a, b) => a.index - b.index);
    main.append(...ordered.map((unit) => unit.element));
  }

  form.addEventListener('change', (event) => {
    if (event.target.name === 'sort') sort();
    else filter();
  });
  form.addEventListener('submit', (event) => event.preventDefault());
  filter();
})();
