{#- The card number stops here: only its type, last four digits and a salted hash go on. -#}
with

source as (

    select * from {{ source('sales', 'creditcard') }}

),

renamed as (

    select
        cast(creditcardid as {{ dbt.type_bigint() }}) as credit_card_id,
        cast(cardtype as {{ dbt.type_string() }}) as card_type,
        {{ dbt.right('trim(cast(cardnumber as ' ~ dbt.type_string() ~ '))', 4) }}
            as card_number_last_four,
        {{ salted_hash('trim(cast(cardnumber as ' ~ dbt.type_string() ~ '))') }}
            as card_number_hash,
        cast(expmonth as {{ dbt.type_bigint() }}) as expiry_month,
        cast(expyear as {{ dbt.type_bigint() }}) as expiry_year,
        cast(modifieddate as {{ dbt.type_timestamp() }}) as modified_at,
        _airbyte_extracted_at as _extracted_at

    from source

)

select * from renamed
