{#- The card number stops here: only its type, last four digits and a salted hash go on
    (macros/card_columns.sql: also when it landed hashed by Airbyte's hashing mapping). -#}
with

source as (

    select * from {{ source('sales', 'creditcard') }}

),

renamed as (

    select
        cast(creditcardid as {{ dbt.type_bigint() }}) as credit_card_id,
        cast(cardtype as {{ dbt.type_string() }}) as card_type,
        {{ card_number_columns(source('sales', 'creditcard')) }},
        cast(expmonth as {{ dbt.type_bigint() }}) as expiry_month,
        cast(expyear as {{ dbt.type_bigint() }}) as expiry_year,
        cast(modifieddate as {{ dbt.type_timestamp() }}) as modified_at,
        _airbyte_extracted_at as _extracted_at

    from source

)

select * from renamed
