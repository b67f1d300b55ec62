{#-
  The card-number columns of stg_sales__credit_cards, whichever way the number landed:

  * in clear, `cardnumber` (the default): its last four digits, and card_number_hash =
    salted_hash(number) (macros/card_hash.sql);
  * hashed before landing by Airbyte's hashing mapping (ADW_REPLICATION_MAPPINGS, or the same
    mapping on the Airbyte connection): only `cardnumber<fieldNameSuffix>` is there, an
    unsalted hex digest. The last four digits cannot be derived and are null;
    card_number_hash = salted_hash(landed digest), so no model downstream holds the unsalted
    digest (a card number is short enough to brute-force from it; docs/replication.md).

  Which one is decided from the source table's columns at run time
  (adapter.get_columns_in_relation), so the same project builds on either layout.
-#}
{% macro card_number_columns(relation, column='cardnumber') %}
    {%- set landed = card_number_landed(relation, column) -%}
    {%- if landed == column -%}
        {%- set number = 'trim(cast(' ~ adapter.quote(column) ~ ' as ' ~ dbt.type_string() ~ '))' -%}
        {{ dbt.right(number, 4) }} as card_number_last_four,
        {{ salted_hash(number) }} as card_number_hash
    {%- else -%}
        cast(null as {{ dbt.type_string() }}) as card_number_last_four,
        {{ salted_hash('cast(' ~ adapter.quote(landed) ~ ' as ' ~ dbt.type_string() ~ ')') }}
            as card_number_hash
    {%- endif -%}
{% endmacro %}

{% macro card_number_landed(relation, column='cardnumber') %}
    {#- The column of `relation` that holds the card number: `column` itself, or the one
        hashing mapping made of it (`column` + a suffix, `_hashed` by default). -#}
    {%- if not execute -%}
        {{ return(column) }}
    {%- endif -%}
    {%- set names = [] -%}
    {%- for c in adapter.get_columns_in_relation(relation) -%}
        {%- do names.append(c.name | lower) -%}
    {%- endfor -%}
    {%- if column in names -%}
        {{ return(column) }}
    {%- endif -%}
    {%- set hashed = [] -%}
    {%- for name in names if name.startswith(column) -%}
        {%- do hashed.append(name) -%}
    {%- endfor -%}
    {%- if hashed | length != 1 -%}
        {{ exceptions.raise_compiler_error(
            relation ~ " has neither " ~ column ~ " nor one hashed " ~ column ~ " column (found: "
            ~ (hashed | join(', ') or 'none') ~ "); replicate sales.creditcard first "
            ~ "(adw replicate creditcard) or fix ADW_REPLICATION_MAPPINGS."
        ) }}
    {%- endif -%}
    {{ return(hashed[0]) }}
{% endmacro %}
