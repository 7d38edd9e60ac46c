-- Commune-level parts of every indicator on the target geography, one family per model.
-- marts roll them up with rollup_to_levels().
{% set families = [
    'int_indicator_parts__population', 'int_indicator_parts__census', 'int_indicator_parts__health',
    'int_indicator_parts__equipment', 'int_indicator_parts__typologies', 'int_indicator_parts__distances',
    'int_indicator_parts__transport', 'int_indicator_parts__establishments', 'int_indicator_parts__qpv',
    'int_indicator_parts__shops', 'int_indicator_parts__income', 'int_indicator_parts__zones',
    'int_indicator_parts__seniors',
] %}
{% set relations = [] %}
{% for family in families %}{% do relations.append(ref(family)) %}{% endfor %}
{{ union_by_name(relations) }}
